"""Queries on the catalogue: organisation-wide tables, read by any role that reads them at all."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from oppflow.errors import NotFound
from oppflow.models import PriceList, PriceListItem, Product, ProductFamily, Unit, UnitGroup
from oppflow.repository import RecordRepository, equal_to, text_in
from oppflow.security.scope import read_scope


class UnitGroupRepository(RecordRepository[UnitGroup]):
    model = UnitGroup
    label = "unit group"


class UnitRepository(RecordRepository[Unit]):
    model = Unit
    label = "unit"

    def many(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Unit]:
        """The units among ``ids``, by id."""
        query = select(Unit).where(read_scope(self.actor, Unit), Unit.id.in_(ids))
        return {unit.id: unit for unit in self.session.scalars(query)}


class ProductFamilyRepository(RecordRepository[ProductFamily]):
    model = ProductFamily
    label = "product family"


class ProductRepository(RecordRepository[Product]):
    model = Product
    label = "product"

    list_filters = {
        "state": equal_to(Product.state),
        "family_id": equal_to(Product.family_id),
        "q": text_in(Product.name, Product.product_number),
    }

    def many(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Product]:
        """The readable products among ``ids``, by id (one query for a request's lines)."""
        query = select(Product).where(read_scope(self.actor, Product), Product.id.in_(ids))
        return {product.id: product for product in self.session.scalars(query)}


class PriceListRepository(RecordRepository[PriceList]):
    model = PriceList
    label = "price list"


class PriceListItemRepository(RecordRepository[PriceListItem]):
    model = PriceListItem
    label = "price list item"

    def of_list(self, price_list_id: uuid.UUID) -> list[PriceListItem]:
        query = (
            self.readable()
            .where(PriceListItem.price_list_id == price_list_id)
            .order_by(PriceListItem.created_at, PriceListItem.id)
        )
        return list(self.session.scalars(query))

    def get_in_list(self, price_list_id: uuid.UUID, item_id: uuid.UUID) -> PriceListItem:
        item = self.get(item_id)
        if item.price_list_id != price_list_id:
            raise NotFound(f"No {self.label} {item_id} on that price list.")
        return item

    def prices_of(
        self, price_list_id: uuid.UUID, product_ids: set[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, uuid.UUID], PriceListItem]:
        """The items of ``price_list_id`` for ``product_ids``, by (product, unit)."""
        query = select(PriceListItem).where(
            PriceListItem.price_list_id == price_list_id,
            PriceListItem.product_id.in_(product_ids),
        )
        return {(i.product_id, i.unit_id): i for i in self.session.scalars(query)}
