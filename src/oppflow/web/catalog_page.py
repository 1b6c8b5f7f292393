"""What the catalogue pages show: products with their units, price lists, and one price
list's items; read from the catalogue's repositories (organisation-wide records)."""

from __future__ import annotations

import uuid
from typing import Any

from oppflow.catalog.repository import (
    PriceListItemRepository,
    PriceListRepository,
    ProductFamilyRepository,
    ProductRepository,
    UnitGroupRepository,
    UnitRepository,
)
from oppflow.catalog.schemas import ProductFilters
from oppflow.models import PriceList, Product, ProductFamily, Unit
from oppflow.security.privileges import Depth
from oppflow.web.context import Page
from oppflow.web.i18n import N_
from oppflow.web.quotes_page import exact_money, product_choices

LISTED = 500
METHOD_LABELS = {
    "amount": N_("Amount"),
    "percent_of_list": N_("Percentage of list price"),
    "percent_of_cost": N_("Percentage of standard cost"),
}
ROUNDING_LABELS = {
    "none": N_("No rounding"),
    "up": N_("Round up"),
    "down": N_("Round down"),
    "nearest": N_("Round to the nearest"),
}


def _may(page: Page, table: str, action: str) -> bool:
    return page.actor.depth(table, action) > Depth.NONE


def unit_choices(page: Page) -> list[tuple[str, str]]:
    """Every unit as "Group — Unit", for the selects."""
    session, actor = page.session, page.actor
    group_rows = UnitGroupRepository(session, actor).page([], limit=LISTED, cursor=None)[0]
    groups = {group.id: group.name for group in group_rows}
    units: list[Unit] = UnitRepository(session, actor).page([], limit=LISTED, cursor=None)[0]
    labelled = [(str(u.id), f"{groups.get(u.group_id, '')} — {u.name}") for u in units]
    return sorted(labelled, key=lambda choice: choice[1].casefold())


def products(page: Page, q: str | None) -> dict[str, Any]:
    """Products (by name or number when searched), and what the new-product form offers."""
    page.actor.require("product", "read")
    repository = ProductRepository(page.session, page.actor)
    rows = repository.page(repository.conditions(ProductFilters(q=q)), limit=LISTED, cursor=None)
    units = unit_choices(page)
    return {
        "products": sorted(rows[0], key=lambda p: p.name.casefold()),
        "unit_names": dict(units),
        "units": units,
        "q": q or "",
        "families": family_choices(page),
        "can_create": _may(page, "product", "create"),
        "can_write": _may(page, "product", "write"),
    }


def price_lists(page: Page) -> dict[str, Any]:
    page.actor.require("price_list", "read")
    rows = PriceListRepository(page.session, page.actor).page([], limit=LISTED, cursor=None)[0]
    return {
        "price_lists": sorted(rows, key=lambda p: p.name.casefold()),
        "can_create": _may(page, "price_list", "create"),
    }


def price_list(page: Page, price_list_id: uuid.UUID) -> dict[str, Any]:
    """One price list, its items (with product, unit and price shown), and the item form."""
    page.actor.require("price_list", "read")
    found: PriceList = PriceListRepository(page.session, page.actor).get(price_list_id)
    items = PriceListItemRepository(page.session, page.actor).of_list(found.id)
    names = dict(product_choices(page))
    return {
        "pl": found,
        "items": [
            (
                item,
                names.get(str(item.product_id), "—"),
                exact_money(page.i18n, item.amount, found.currency),
            )
            for item in items
        ],
        "units": unit_choices(page),
        "products": product_choices(page),
        "methods": tuple(METHOD_LABELS),
        "method_labels": METHOD_LABELS,
        "roundings": tuple(ROUNDING_LABELS),
        "rounding_labels": ROUNDING_LABELS,
        "can_write": _may(page, "price_list", "write"),
    }


def family_choices(page: Page) -> list[tuple[str, str]]:
    """Product families by name, for the selects."""
    rows = ProductFamilyRepository(page.session, page.actor).page([], limit=LISTED, cursor=None)
    return sorted(((str(f.id), f.name) for f in rows[0]), key=lambda c: c[1].casefold())


def product(page: Page, product_id: uuid.UUID) -> dict[str, Any]:
    """One product and what its form offers: the units of its group, families, price lists."""
    page.actor.require("product", "read")
    found: Product = ProductRepository(page.session, page.actor).get(product_id)
    in_group = [Unit.group_id == found.unit_group_id]
    units = UnitRepository(page.session, page.actor).page(in_group, limit=LISTED, cursor=None)[0]
    return {
        "p": found,
        "units": sorted(((str(u.id), u.name) for u in units), key=lambda c: c[1].casefold()),
        "families": family_choices(page),
        "price_lists": _price_list_choices(page),
        "can_write": _may(page, "product", "write"),
    }


def _price_list_choices(page: Page) -> list[tuple[str, str]]:
    if not _may(page, "price_list", "read"):
        return []
    rows = PriceListRepository(page.session, page.actor).page([], limit=LISTED, cursor=None)[0]
    labelled = ((str(pl.id), f"{pl.name} ({pl.currency})") for pl in rows)
    return sorted(labelled, key=lambda c: c[1].casefold())


def families(page: Page) -> dict[str, Any]:
    """Product families with their parents, and whether the user may add one."""
    page.actor.require("product", "read")
    rows = ProductFamilyRepository(page.session, page.actor).page([], limit=LISTED, cursor=None)
    found: list[ProductFamily] = sorted(rows[0], key=lambda f: f.name.casefold())
    return {
        "families": found,
        "names": {str(f.id): f.name for f in found},
        "choices": [(str(f.id), f.name) for f in found],
        "can_create": _may(page, "product", "create"),
    }
