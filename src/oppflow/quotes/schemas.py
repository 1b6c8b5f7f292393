"""Pydantic shapes of opportunity lines, quotes and quote lines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from oppflow.catalog.schemas import Number, Quantity
from oppflow.sales.schemas import Money, Record, refuse_nulls
from oppflow.schemas import IsoDate, LongText, Name, Strict, without_null

# Lines of one opportunity or quote; a request sending more is refused whole (422).
MAX_LINES = 500
QuoteState = Literal["draft", "active", "won", "closed"]
QuoteStatus = Literal["in_progress", "active", "won", "lost", "canceled", "revised"]
Language = Literal["en", "fr"]


class LineCreate(Strict):
    """A catalogue product (priced from the price list unless ``price_per_unit`` overrides
    it) or a write-in (``write_in_name`` and ``price_per_unit``); one of the two, never both
    (422 naming the field)."""

    product_id: uuid.UUID | None = None
    write_in_name: Name | None = None
    unit_id: uuid.UUID | None = Field(default=None, description="The product's default unit.")
    quantity: Quantity
    price_per_unit: Money | None = None
    manual_discount: Money = Decimal(0)
    tax: Money = Decimal(0)
    description: LongText | None = None


LINE_REQUIRED = ("quantity", "manual_discount", "tax")


class LineUpdate(Strict):
    """Changes to a line; ``price_per_unit: null`` goes back to the price list's price."""

    model_config = ConfigDict(json_schema_extra=without_null(LINE_REQUIRED))

    quantity: Quantity | None = None
    price_per_unit: Money | None = None
    manual_discount: Money | None = None
    tax: Money | None = None
    unit_id: uuid.UUID | None = None
    description: LongText | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, LINE_REQUIRED)


class LinesReplace(Strict):
    """Every line at once, in order (the editable grid): the lines there were are replaced."""

    lines: list[LineCreate] = Field(max_length=MAX_LINES)


class LineRead(Record):
    line_number: int
    product_id: uuid.UUID | None
    write_in_name: str | None
    unit_id: uuid.UUID | None
    description: str | None
    quantity: Number
    price_per_unit: Money
    is_price_overridden: bool
    volume_discount: Money
    manual_discount: Money
    tax: Money
    extended_amount: Money


class LinePage(BaseModel):
    items: list[LineRead]


# Quotes
class QuoteFields(Strict):
    contact_id: uuid.UUID | None = None
    language: Language | None = None
    effective_from: IsoDate | None = None
    effective_to: IsoDate | None = None
    terms: LongText | None = None
    description: LongText | None = None


class QuoteCreate(QuoteFields):
    """Created from an opportunity: its customer, price list, currency and lines are copied;
    the name defaults to the opportunity's, the language to the owner's."""

    name: Name | None = None


class QuoteUpdate(QuoteFields):
    model_config = ConfigDict(json_schema_extra=without_null(("name", "language")))

    name: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, ("name", "language"))


class QuoteRead(Record):
    quote_number: str = Field(description="Readable and unique with the revision, QUO-000123.")
    revision_number: int
    name: str
    opportunity_id: uuid.UUID
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    price_list_id: uuid.UUID | None
    revised_from_id: uuid.UUID | None
    currency: str
    state: QuoteState
    status_reason: QuoteStatus
    language: Language
    effective_from: date | None
    effective_to: date | None
    terms: str | None
    description: str | None
    total_line_amount: Money
    total_discount: Money
    total_tax: Money
    total_amount: Money
    activated_at: datetime | None
    closed_at: datetime | None
    sent_at: datetime | None
    sent_to: str | None


class QuoteFilters(BaseModel):
    state: QuoteState | None = None
    opportunity_id: uuid.UUID | None = None


class WinQuoteRequest(Strict):
    close_opportunity: bool = Field(
        default=True, description="Also close the opportunity as won, for the quote's total."
    )
    close_date: IsoDate | None = None
    description: LongText | None = None


class CloseQuoteRequest(Strict):
    status_reason: Literal["lost", "canceled"] = "canceled"
