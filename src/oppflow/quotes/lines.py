"""Pricing the lines of an opportunity or a quote: the same rules for both.

A line names an active catalogue product, sold in one of its units and priced by the price
list's item for that product and unit (unless ``price_per_unit`` overrides it), with the item's
volume discount; or it is a write-in with its own name and price. Every product, unit and
price list item a request needs is read in one query each, however many lines it has.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from oppflow.catalog.pricing import (
    ItemPrice,
    line_amounts,
    unit_price,
    volume_discount,
    within_bounds,
)
from oppflow.catalog.repository import (
    PriceListItemRepository,
    ProductRepository,
    UnitRepository,
)
from oppflow.errors import ValidationFailed
from oppflow.models import OpportunityLine, PriceListItem, Product, QuoteLine, Unit
from oppflow.quotes.repository import LineRepository
from oppflow.quotes.schemas import LineCreate, LineUpdate
from oppflow.records import stamp_new
from oppflow.security.actor import Actor

Line = OpportunityLine | QuoteLine


class LinePricer:
    """Prices lines in ``currency`` from ``price_list_id`` (None: only overridden prices)."""

    def __init__(
        self,
        session: Session,
        actor: Actor,
        *,
        currency: str,
        price_list_id: uuid.UUID | None,
        lines: Sequence[LineCreate],
    ) -> None:
        self.currency = currency
        self.price_list_id = price_list_id
        product_ids = {line.product_id for line in lines if line.product_id is not None}
        self.products: dict[uuid.UUID, Product] = ProductRepository(session, actor).many(
            product_ids
        )
        unit_ids = {line.unit_id for line in lines if line.unit_id is not None}
        unit_ids |= {product.default_unit_id for product in self.products.values()}
        self.units: dict[uuid.UUID, Unit] = UnitRepository(session, actor).many(unit_ids)
        self.items: dict[tuple[uuid.UUID, uuid.UUID], PriceListItem] = {}
        if price_list_id is not None and product_ids:
            items = PriceListItemRepository(session, actor)
            self.items = items.prices_of(price_list_id, product_ids)

    def values(self, line: LineCreate, where: str = "") -> dict[str, Any]:
        """The columns of a priced line (all but its number and parent)."""
        try:
            return self._values(line)
        except ValidationFailed as error:
            if not where:
                raise
            raise ValidationFailed(f"{where}: {error.detail}", **error.extra) from error

    def _values(self, line: LineCreate) -> dict[str, Any]:
        _check_kind(line)
        product = self._product(line)
        unit_id = self._unit(line, product)
        item = self.items.get((product.id, unit_id)) if product and unit_id else None
        price = line.price_per_unit
        if price is None:
            price = self._listed_price(product, item)
        within_bounds(line.quantity * price, "quantity")
        breaks = item.volume_discounts if item is not None else []
        amounts = line_amounts(
            quantity=line.quantity,
            price_per_unit=price,
            volume_discount=volume_discount(breaks, line.quantity, price, self.currency),
            manual_discount=line.manual_discount,
            tax=line.tax,
            currency=self.currency,
        )
        return {
            **line.model_dump(include={"product_id", "write_in_name", "description", "quantity"}),
            "unit_id": unit_id,
            "price_per_unit": price,
            "is_price_overridden": line.price_per_unit is not None,
            "volume_discount": amounts.volume_discount,
            "manual_discount": amounts.manual_discount,
            "tax": amounts.tax,
            "extended_amount": amounts.extended_amount,
        }

    def _product(self, line: LineCreate) -> Product | None:
        if line.product_id is None:
            return None
        product = self.products.get(line.product_id)
        if product is None:
            raise ValidationFailed(f"product_id: No product {line.product_id}.", field="product_id")
        if product.state != "active":
            raise ValidationFailed(
                f"product_id: {product.name} is retired; it cannot be sold.", field="product_id"
            )
        return product

    def _unit(self, line: LineCreate, product: Product | None) -> uuid.UUID | None:
        if product is None:
            if line.unit_id is not None:
                raise ValidationFailed("unit_id: a write-in line has no unit.", field="unit_id")
            return None
        unit = self.units.get(line.unit_id or product.default_unit_id)
        if unit is None or unit.group_id != product.unit_group_id:
            raise ValidationFailed(
                f"unit_id: {product.name} is not sold in that unit.", field="unit_id"
            )
        return unit.id

    def _listed_price(self, product: Product | None, item: PriceListItem | None) -> Decimal:
        assert product is not None  # a write-in always has its price (LineCreate says so)
        if self.price_list_id is None:
            raise ValidationFailed(
                "price_list_id: choose a price list first, or give the price per unit.",
                field="price_list_id",
            )
        if item is None:
            raise ValidationFailed(
                f"product_id: {product.name} is not on the price list in that unit.",
                field="product_id",
            )
        return unit_price(
            ItemPrice(
                pricing_method=item.pricing_method,
                amount=item.amount,
                percentage=item.percentage,
                rounding=item.rounding,
                rounding_amount=item.rounding_amount,
                list_price=product.list_price,
                standard_cost=product.standard_cost,
            ),
            self.currency,
        )


def _check_kind(line: LineCreate) -> None:
    """A line is a product or a write-in, and a write-in has its price (422 otherwise)."""
    if (line.product_id is None) == (line.write_in_name is None):
        raise ValidationFailed(
            "product_id: a line names either product_id or write_in_name.", field="product_id"
        )
    if line.write_in_name is not None and line.price_per_unit is None:
        raise ValidationFailed(
            "price_per_unit: a write-in line needs its price.", field="price_per_unit"
        )


def replace_lines(
    session: Session,
    actor: Actor,
    model: type[OpportunityLine] | type[QuoteLine],
    parent: dict[str, uuid.UUID],
    priced: list[dict[str, Any]],
) -> list[Any]:
    """The lines of ``parent`` (``{"opportunity_id": …}`` or ``{"quote_id": …}``) become
    ``priced``, position by position: a line whose values did not change is left alone (no
    write, no audit row, as when a grid is saved unchanged), a changed one is updated, extra
    ones are deleted or added."""
    repository = LineRepository(session, model)
    existing = repository.lines_of(next(iter(parent.values())))
    for line, values in zip(existing, priced, strict=False):
        changed = {c: v for c, v in values.items() if getattr(line, c) != v}
        # Only what differs is set: an attribute set to its own value still makes the line
        # dirty, and the flush and the audit hook would then examine every line.
        for column, value in changed.items():
            setattr(line, column, value)
        if changed:
            line.modified_by_id = actor.user_id
    for line in existing[len(priced) :]:
        session.delete(line)
    # Numbers after every existing one: the flush inserts before it deletes.
    first = max((line.line_number for line in existing), default=0) + 1
    added = [
        model(**parent, line_number=number, **values)
        for number, values in enumerate(priced[len(existing) :], start=first)
    ]
    for line in added:
        stamp_new(line, actor)
    repository.add_all(added)
    return existing[: len(priced)] + added


def as_create(line: Line, changes: LineUpdate) -> LineCreate:
    """A line with ``changes`` applied, as a new line would be given (to price it again)."""
    given = changes.model_dump(exclude_unset=True)
    overridden = line.price_per_unit if line.is_price_overridden else None
    return LineCreate(
        product_id=line.product_id,
        write_in_name=line.write_in_name,
        unit_id=given.get("unit_id", line.unit_id),
        quantity=given.get("quantity", line.quantity),
        price_per_unit=given.get("price_per_unit", overridden),
        manual_discount=given.get("manual_discount", line.manual_discount),
        tax=given.get("tax", line.tax),
        description=given.get("description", line.description),
    )


def copy_values(line: Line) -> dict[str, Any]:
    """The priced columns of a line, to copy it onto another opportunity or quote."""
    columns = (
        "line_number", "product_id", "write_in_name", "unit_id", "description", "quantity",
        "price_per_unit", "is_price_overridden", "volume_discount", "manual_discount", "tax",
        "extended_amount",
    )  # fmt: skip
    return {column: getattr(line, column) for column in columns}
