"""Pydantic shapes of units, unit groups, product families, products and price lists."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from oppflow.sales.schemas import Currency, Money, Name100, Name160, Record, refuse_nulls
from oppflow.schemas import NO_NUL, IsoDate, LongText, Strict, without_null

MAX_QUANTITY = Decimal(999_999_999)
# JSON numbers with their bounds and four decimal places, in both directions (as Money).
Quantity = Annotated[
    Decimal,
    Field(gt=0, le=MAX_QUANTITY, max_digits=13, decimal_places=4),
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema(
        {"type": "number", "exclusiveMinimum": 0, "maximum": 999_999_999, "multipleOf": 0.0001}
    ),
]
Percentage = Annotated[
    Decimal,
    Field(ge=0, le=Decimal(1000), max_digits=8, decimal_places=4),
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1000, "multipleOf": 0.0001}),
]
# Quantities and percentages answered as JSON numbers, as money is.
Number = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]
ProductNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]
ProductState = Literal["active", "retired"]
PricingMethod = Literal["amount", "percent_of_list", "percent_of_cost"]
Rounding = Literal["none", "up", "down", "nearest"]
# At most this many quantity breaks on one price list item.
MAX_BREAKS = 20


# Units and unit groups
class UnitGroupCreate(Strict):
    name: Name160
    description: LongText | None = None
    base_unit: Name100 = Field(default="Primary Unit", description="The name of its base unit.")


class UnitGroupRead(Record):
    name: str
    description: str | None


class UnitCreate(Strict):
    group_id: uuid.UUID
    name: Name100
    quantity: Quantity = Field(default=Decimal(1), description="How many base units it holds.")


class UnitUpdate(Strict):
    model_config = ConfigDict(json_schema_extra=without_null(("name", "quantity")))

    name: Name100 | None = None
    quantity: Quantity | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, ("name", "quantity"))


class UnitRead(Record):
    group_id: uuid.UUID
    name: str
    quantity: Number


# Product families
class ProductFamilyCreate(Strict):
    name: Name160
    parent_id: uuid.UUID | None = None
    description: LongText | None = None


class ProductFamilyRead(Record):
    name: str
    parent_id: uuid.UUID | None
    description: str | None


# Products
class ProductFields(Strict):
    description: LongText | None = None
    family_id: uuid.UUID | None = None
    default_price_list_id: uuid.UUID | None = None
    list_price: Money | None = None
    standard_cost: Money | None = None


class ProductCreate(ProductFields):
    name: Name160
    product_number: ProductNumber
    unit_group_id: uuid.UUID
    default_unit_id: uuid.UUID


PRODUCT_REQUIRED = ("name", "product_number", "default_unit_id", "state")


class ProductUpdate(ProductFields):
    model_config = ConfigDict(json_schema_extra=without_null(PRODUCT_REQUIRED))

    name: Name160 | None = None
    product_number: ProductNumber | None = None
    default_unit_id: uuid.UUID | None = None
    state: ProductState | None = Field(default=None, description="Retire or reactivate it.")

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, PRODUCT_REQUIRED)


class ProductRead(Record):
    name: str
    product_number: str
    description: str | None
    family_id: uuid.UUID | None
    unit_group_id: uuid.UUID
    default_unit_id: uuid.UUID
    default_price_list_id: uuid.UUID | None
    list_price: Money | None
    standard_cost: Money | None
    state: ProductState


class ProductFilters(BaseModel):
    state: ProductState | None = None
    family_id: uuid.UUID | None = None
    q: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=NO_NUL)]
        | None
    ) = None


# Price lists
class PriceListFields(Strict):
    begins_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    description: LongText | None = None


class PriceListCreate(PriceListFields):
    name: Name160
    currency: Currency


class PriceListUpdate(PriceListFields):
    """The currency stays: the lines priced from the list are in it."""

    model_config = ConfigDict(json_schema_extra=without_null(("name",)))

    name: Name160 | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, ("name",))


class PriceListRead(Record):
    name: str
    currency: str
    begins_on: date | None
    ends_on: date | None
    description: str | None


class VolumeDiscount(Strict):
    """From ``from_quantity`` on, a percentage off the price or an amount off each unit (one
    of the two: 422 naming ``volume_discounts`` otherwise)."""

    from_quantity: Quantity
    percentage: Percentage | None = None
    amount: Money | None = None


class PriceListItemFields(Strict):
    pricing_method: PricingMethod = "amount"
    amount: Money | None = None
    percentage: Percentage | None = None
    rounding: Rounding = "none"
    rounding_amount: Money | None = None
    volume_discounts: list[VolumeDiscount] = Field(default=[], max_length=MAX_BREAKS)


class PriceListItemCreate(PriceListItemFields):
    product_id: uuid.UUID
    unit_id: uuid.UUID | None = Field(default=None, description="The product's default unit.")


class PriceListItemUpdate(Strict):
    pricing_method: PricingMethod | None = None
    amount: Money | None = None
    percentage: Percentage | None = None
    rounding: Rounding | None = None
    rounding_amount: Money | None = None
    volume_discounts: list[VolumeDiscount] | None = Field(default=None, max_length=MAX_BREAKS)


class VolumeDiscountRead(BaseModel):
    from_quantity: Number
    percentage: Number | None = None
    amount: Number | None = None


class PriceListItemRead(Record):
    price_list_id: uuid.UUID
    product_id: uuid.UUID
    unit_id: uuid.UUID
    pricing_method: PricingMethod
    amount: Money | None
    percentage: Number | None
    rounding: Rounding
    rounding_amount: Money | None
    volume_discounts: list[VolumeDiscountRead]
