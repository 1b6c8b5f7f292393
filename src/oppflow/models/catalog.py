"""The product catalogue: units and unit groups, product families, products, price lists and
their items (Dataverse uom, uomschedule, product, pricelevel, productpricelevel)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.models.base import Audited, Base, lower_index, new_id

# Quantities, like money, are exact decimals with four places.
QUANTITY = Numeric(19, 4)


class UnitGroup(Audited, Base):
    """A family of units that convert into one another (uomschedule), e.g. "Hardware"."""

    __tablename__ = "unit_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)


class Unit(Audited, Base):
    """A unit of sale (uom): ``quantity`` of the group's base unit, e.g. a box of 12."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("group_id", "name"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("unit_groups.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))


class ProductFamily(Audited, Base):
    """A family groups products (and other families) for browsing the catalogue."""

    __tablename__ = "product_families"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("product_families.id"), default=None
    )
    description: Mapped[str | None] = mapped_column(Text, default=None)


class PriceList(Audited, Base):
    """Prices of products in one currency, valid between two optional dates (pricelevel)."""

    __tablename__ = "price_lists"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    begins_on: Mapped[date | None] = mapped_column(default=None)
    ends_on: Mapped[date | None] = mapped_column(default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)


class Product(Audited, Base):
    """Something sold (product): sold in the units of its group, priced by price lists."""

    __tablename__ = "products"
    __table_args__ = (CheckConstraint("state IN ('active', 'retired')", name="state"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(160))
    product_number: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    family_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("product_families.id"), default=None, index=True
    )
    unit_group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit_groups.id"), index=True)
    default_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    default_price_list_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("price_lists.id"), default=None
    )
    list_price: Mapped[Decimal | None] = mapped_column(default=None)
    standard_cost: Mapped[Decimal | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(8), default="active")


class PriceListItem(Audited, Base):
    """The price of one product in one unit on one price list (productpricelevel).

    ``pricing_method`` is ``amount`` (``amount`` as is), ``percent_of_list`` or
    ``percent_of_cost`` (``percentage`` of the product's list price or standard cost), rounded
    by ``rounding``: ``none``, or ``up``/``down``/``nearest`` to a multiple of
    ``rounding_amount``. ``volume_discounts`` are quantity breaks, each
    ``{"from_quantity", "percentage"}`` or ``{"from_quantity", "amount"}`` (per unit).
    """

    __tablename__ = "price_list_items"
    __table_args__ = (UniqueConstraint("price_list_id", "product_id", "unit_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    price_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("price_lists.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    pricing_method: Mapped[str] = mapped_column(String(16), default="amount")
    amount: Mapped[Decimal | None] = mapped_column(default=None)
    percentage: Mapped[Decimal | None] = mapped_column(default=None)
    rounding: Mapped[str] = mapped_column(String(8), default="none")
    rounding_amount: Mapped[Decimal | None] = mapped_column(default=None)
    volume_discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


# Pickers search products by prefix, case-insensitively.
lower_index("ix_products_name_lower", Product.name)
