"""Rules on the catalogue: units and their groups, product families, products, price lists and
their items. Organisation-wide records: reading needs read on ``product`` (or ``price_list``)
at any depth, changing them the matching action (sales managers and administrators).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from oppflow.catalog.repository import (
    PriceListItemRepository,
    PriceListRepository,
    ProductFamilyRepository,
    ProductRepository,
    UnitGroupRepository,
    UnitRepository,
)
from oppflow.catalog.schemas import (
    PriceListCreate,
    PriceListItemCreate,
    PriceListItemUpdate,
    PriceListUpdate,
    ProductCreate,
    ProductFamilyCreate,
    ProductUpdate,
    UnitCreate,
    UnitGroupCreate,
    UnitUpdate,
    VolumeDiscount,
)
from oppflow.errors import NotFound, ValidationFailed
from oppflow.models import PriceList, PriceListItem, Product, ProductFamily, Unit, UnitGroup
from oppflow.models.base import Audited, new_id
from oppflow.records import apply_changes, check_version, stamp_new
from oppflow.repository import RecordRepository
from oppflow.security.actor import Actor


def referenced(repository: RecordRepository[Any], record_id: uuid.UUID, field: str) -> Any:
    """The record an id of a request body names; 422 naming the field when there is none."""
    try:
        return repository.get(record_id)
    except NotFound as error:
        raise ValidationFailed(f"{field}: {error.detail}", field=field) from error


def _changed(
    session: Session, actor: Actor, record: Audited, changes: dict[str, Any], if_match: int | None
) -> None:
    check_version(record, if_match)
    apply_changes(record, changes, actor)
    session.flush()


# Units and unit groups
def create_unit_group(session: Session, *, actor: Actor, data: UnitGroupCreate) -> UnitGroup:
    """A unit group with its base unit (quantity 1)."""
    actor.require("product", "create")
    group = UnitGroup(id=new_id(), name=data.name, description=data.description)
    stamp_new(group, actor)
    UnitGroupRepository(session, actor).add(group)
    base = Unit(group_id=group.id, name=data.base_unit, quantity=Decimal(1))
    stamp_new(base, actor)
    UnitRepository(session, actor).add(base)
    return group


def create_unit(session: Session, *, actor: Actor, data: UnitCreate) -> Unit:
    actor.require("product", "create")
    referenced(UnitGroupRepository(session, actor), data.group_id, "group_id")
    unit = Unit(**data.model_dump())
    stamp_new(unit, actor)
    return UnitRepository(session, actor).add(unit)


def update_unit(
    session: Session,
    *,
    actor: Actor,
    unit_id: uuid.UUID,
    data: UnitUpdate,
    if_match: int | None = None,
) -> Unit:
    unit = UnitRepository(session, actor).get(unit_id)
    actor.require("product", "write")
    _changed(session, actor, unit, data.model_dump(exclude_unset=True), if_match)
    return unit


# Product families and products
def create_product_family(
    session: Session, *, actor: Actor, data: ProductFamilyCreate
) -> ProductFamily:
    actor.require("product", "create")
    repository = ProductFamilyRepository(session, actor)
    if data.parent_id is not None:
        referenced(repository, data.parent_id, "parent_id")
    family = ProductFamily(**data.model_dump())
    stamp_new(family, actor)
    return repository.add(family)


def create_product(session: Session, *, actor: Actor, data: ProductCreate) -> Product:
    """A product, active, sold in the units of its group."""
    actor.require("product", "create")
    values = data.model_dump()
    _check_product_references(session, actor, values, data.unit_group_id)
    product = Product(**values)
    stamp_new(product, actor)
    return ProductRepository(session, actor).add(product)


def update_product(
    session: Session,
    *,
    actor: Actor,
    product_id: uuid.UUID,
    data: ProductUpdate,
    if_match: int | None = None,
) -> Product:
    """Change a product; ``state`` retires it (no new lines) or makes it active again."""
    product = ProductRepository(session, actor).get(product_id)
    check_version(product, if_match)
    actor.require("product", "write")
    changes = data.model_dump(exclude_unset=True)
    _check_product_references(session, actor, changes, product.unit_group_id)
    _changed(session, actor, product, changes, None)
    return product


def _check_product_references(
    session: Session, actor: Actor, values: dict[str, Any], group_id: uuid.UUID
) -> None:
    if "unit_group_id" in values:
        referenced(UnitGroupRepository(session, actor), group_id, "unit_group_id")
    if values.get("default_unit_id") is not None:
        unit = referenced(UnitRepository(session, actor), values["default_unit_id"], "unit_id")
        if unit.group_id != group_id:
            raise ValidationFailed(
                "default_unit_id: that unit is not in the product's unit group.",
                field="default_unit_id",
            )
    if values.get("family_id") is not None:
        referenced(ProductFamilyRepository(session, actor), values["family_id"], "family_id")
    if values.get("default_price_list_id") is not None:
        repository = PriceListRepository(session, actor)
        referenced(repository, values["default_price_list_id"], "default_price_list_id")


# Price lists
def create_price_list(session: Session, *, actor: Actor, data: PriceListCreate) -> PriceList:
    actor.require("price_list", "create")
    _check_dates(data.begins_on, data.ends_on)
    price_list = PriceList(**data.model_dump())
    stamp_new(price_list, actor)
    return PriceListRepository(session, actor).add(price_list)


def update_price_list(
    session: Session,
    *,
    actor: Actor,
    price_list_id: uuid.UUID,
    data: PriceListUpdate,
    if_match: int | None = None,
) -> PriceList:
    price_list = PriceListRepository(session, actor).get(price_list_id)
    check_version(price_list, if_match)
    actor.require("price_list", "write")
    changes = data.model_dump(exclude_unset=True)
    _check_dates(
        changes.get("begins_on", price_list.begins_on), changes.get("ends_on", price_list.ends_on)
    )
    _changed(session, actor, price_list, changes, None)
    return price_list


def _check_dates(begins_on: date | None, ends_on: date | None) -> None:
    if begins_on and ends_on and ends_on < begins_on:
        raise ValidationFailed(
            "ends_on: a price list cannot end before it begins.", field="ends_on"
        )


def add_price_list_item(
    session: Session, *, actor: Actor, price_list_id: uuid.UUID, data: PriceListItemCreate
) -> PriceListItem:
    """Price a product (in one of its units) on a price list."""
    PriceListRepository(session, actor).get(price_list_id)
    actor.require("price_list", "write")
    product = referenced(ProductRepository(session, actor), data.product_id, "product_id")
    unit_id = data.unit_id or product.default_unit_id
    _check_unit(session, actor, product, unit_id)
    values = _item_values(data.model_dump(exclude={"product_id", "unit_id", "volume_discounts"}))
    item = PriceListItem(
        price_list_id=price_list_id,
        product_id=product.id,
        unit_id=unit_id,
        volume_discounts=_breaks(data.volume_discounts),
        **values,
    )
    stamp_new(item, actor)
    return PriceListItemRepository(session, actor).add(item)


def update_price_list_item(
    session: Session,
    *,
    actor: Actor,
    price_list_id: uuid.UUID,
    item_id: uuid.UUID,
    data: PriceListItemUpdate,
    if_match: int | None = None,
) -> PriceListItem:
    item = PriceListItemRepository(session, actor).get_in_list(price_list_id, item_id)
    check_version(item, if_match)
    actor.require("price_list", "write")
    changes = data.model_dump(exclude_unset=True, exclude={"volume_discounts"})
    if data.volume_discounts is not None:
        changes["volume_discounts"] = _breaks(data.volume_discounts)
    merged = {
        key: changes.get(key, getattr(item, key))
        for key in ("pricing_method", "amount", "percentage", "rounding", "rounding_amount")
    }
    _item_values(merged)
    _changed(session, actor, item, changes, None)
    return item


def delete_price_list_item(
    session: Session,
    *,
    actor: Actor,
    price_list_id: uuid.UUID,
    item_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    repository = PriceListItemRepository(session, actor)
    item = repository.get_in_list(price_list_id, item_id)
    check_version(item, if_match)
    actor.require("price_list", "write")
    repository.delete(item)


def _check_unit(session: Session, actor: Actor, product: Product, unit_id: uuid.UUID) -> Unit:
    unit: Unit = referenced(UnitRepository(session, actor), unit_id, "unit_id")
    if unit.group_id != product.unit_group_id:
        raise ValidationFailed("unit_id: the product is not sold in that unit.", field="unit_id")
    return unit


def _item_values(values: dict[str, Any]) -> dict[str, Any]:
    """The pricing fields, refused (422) when the method lacks what it needs."""
    method = values["pricing_method"]
    if method == "amount" and values.get("amount") is None:
        raise ValidationFailed("amount: priced by amount, the item needs one.", field="amount")
    if method != "amount" and values.get("percentage") is None:
        raise ValidationFailed(
            "percentage: priced by percentage, the item needs one.", field="percentage"
        )
    if values.get("rounding", "none") != "none" and not values.get("rounding_amount"):
        raise ValidationFailed(
            "rounding_amount: rounding needs an amount to round to.", field="rounding_amount"
        )
    return values


def _breaks(breaks: list[VolumeDiscount]) -> list[dict[str, Any]]:
    """Quantity breaks as JSON, their decimals as text (exact), in quantity order."""
    if any((b.percentage is None) == (b.amount is None) for b in breaks):
        raise ValidationFailed(
            "volume_discounts: a quantity break has either a percentage or an amount.",
            field="volume_discounts",
        )
    rows = [
        {key: str(value) for key, value in b.model_dump().items() if value is not None}
        for b in sorted(breaks, key=lambda b: b.from_quantity)
    ]
    quantities = [b.from_quantity for b in breaks]
    if len(set(quantities)) != len(quantities):
        raise ValidationFailed(
            "volume_discounts: two breaks start at the same quantity.", field="volume_discounts"
        )
    return rows
