"""The catalogue pages: products (and unit groups), price lists and their items. Every change
calls the catalogue service the API calls; its rules (who may change the catalogue, unique
numbers, units of the product's group) refuse with a message."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query
from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.catalog import service
from oppflow.catalog.repository import UnitRepository
from oppflow.catalog.schemas import (
    PriceListCreate,
    PriceListItemCreate,
    PriceListUpdate,
    ProductCreate,
    ProductFamilyCreate,
    ProductUpdate,
    UnitGroupCreate,
)
from oppflow.web import catalog_page, forms
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

router = web_router()
PRODUCTS = "/catalog/products"
PRICE_LISTS = "/catalog/price-lists"
FAMILIES = "/catalog/families"
# A product's form: texts and numbers as typed, the references as ids (empty clears them).
PRODUCT_TEXTS = ("name", "product_number", "description", "list_price", "standard_cost")
PRODUCT_IDS = ("default_unit_id", "family_id", "default_price_list_id")


def _saved(page: Page, url: str) -> Response:
    return redirect(page, url, page.i18n.gettext("Saved."))


@router.get(PRODUCTS)
async def products(
    page: PageDep, q: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    """Products, searched by name or number, and the forms to add one or a unit group."""
    found = catalog_page.products(page, q)
    return render(page, "catalog/products.html", section="catalog", **found)


@router.post("/catalog/unit-groups")
async def create_unit_group(page: PageDep, form: FormDep) -> Response:
    with refusals(page.i18n, PRODUCTS):
        values = {"name": forms.text(form, "name"), "base_unit": forms.text(form, "base_unit")}
        values = {key: value for key, value in values.items() if value is not None}
        data = forms.validated(UnitGroupCreate, values, page.i18n, _labels(page))
        service.create_unit_group(page.session, actor=page.actor, data=data)
    return _saved(page, PRODUCTS)


@router.post(PRODUCTS)
async def create_product(page: PageDep, form: FormDep) -> Response:
    """A product sold in the chosen unit's group, that unit by default."""
    with refusals(page.i18n, PRODUCTS):
        unit_id = forms.record_id(forms.text(form, "default_unit_id"))
        group_id = (
            UnitRepository(page.session, page.actor).get(unit_id).group_id if unit_id else None
        )
        values: dict[str, Any] = {
            name: forms.text(form, name)
            for name in ("name", "product_number", "list_price", "standard_cost", "description")
        }
        values |= {
            "default_unit_id": unit_id,
            "unit_group_id": group_id,
            "family_id": forms.record_id(forms.text(form, "family_id")),
        }
        data = forms.validated(ProductCreate, values, page.i18n, _labels(page))
        service.create_product(page.session, actor=page.actor, data=data)
    return _saved(page, PRODUCTS)


@router.get("/catalog/products/{product_id}")
async def product(page: PageDep, product_id: str) -> Response:
    found = catalog_page.product(page, parse_id(product_id))
    return render(page, "catalog/product.html", section="catalog", **found)


@router.post("/catalog/products/{product_id}")
async def update_product(page: PageDep, product_id: str, form: FormDep) -> Response:
    """Every field of the product's form at once; its state has its own button."""
    record_id = parse_id(product_id)
    back = f"{PRODUCTS}/{record_id}"
    with refusals(page.i18n, back):
        values: dict[str, Any] = {name: forms.text(form, name) for name in PRODUCT_TEXTS}
        values |= {name: forms.record_id(forms.text(form, name)) for name in PRODUCT_IDS}
        data = forms.validated(ProductUpdate, values, page.i18n, _labels(page))
        service.update_product(
            page.session, actor=page.actor, product_id=record_id, data=data,
            if_match=forms.version(form),
        )  # fmt: skip
    return _saved(page, back)


@router.post("/catalog/products/{product_id}/state")
async def product_state(page: PageDep, product_id: str, form: FormDep) -> Response:
    """Retire a product (no new lines) or make it active again, from the list or its page."""
    record_id = parse_id(product_id)
    back = _state_back(form, record_id)
    with refusals(page.i18n, back):
        data = forms.validated(ProductUpdate, {"state": forms.text(form, "state")}, page.i18n, {})
        service.update_product(
            page.session,
            actor=page.actor,
            product_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return _saved(page, back)


def _state_back(form: FormData, product_id: uuid.UUID) -> str:
    return f"{PRODUCTS}/{product_id}" if forms.text(form, "from") == "product" else PRODUCTS


@router.get(FAMILIES)
async def product_families(page: PageDep) -> Response:
    found = catalog_page.families(page)
    return render(page, "catalog/families.html", section="catalog", **found)


@router.post(FAMILIES)
async def create_product_family(page: PageDep, form: FormDep) -> Response:
    """A family, optionally inside another one."""
    with refusals(page.i18n, FAMILIES):
        values: dict[str, Any] = {
            "name": forms.text(form, "name"),
            "description": forms.text(form, "description"),
            "parent_id": forms.record_id(forms.text(form, "parent_id")),
        }
        data = forms.validated(ProductFamilyCreate, values, page.i18n, _labels(page))
        service.create_product_family(page.session, actor=page.actor, data=data)
    return _saved(page, FAMILIES)


@router.get(PRICE_LISTS)
async def price_lists(page: PageDep) -> Response:
    found = catalog_page.price_lists(page)
    return render(page, "catalog/price_lists.html", section="catalog", **found)


@router.post(PRICE_LISTS)
async def create_price_list(page: PageDep, form: FormDep) -> Response:
    with refusals(page.i18n, PRICE_LISTS):
        names = ("name", "currency", "begins_on", "ends_on", "description")
        values = {name: forms.text(form, name) for name in names}
        values["currency"] = (values["currency"] or "").upper() or None
        data = forms.validated(PriceListCreate, values, page.i18n, _labels(page))
        created = service.create_price_list(page.session, actor=page.actor, data=data)
    return _saved(page, f"{PRICE_LISTS}/{created.id}")


@router.get("/catalog/price-lists/{price_list_id}")
async def price_list(page: PageDep, price_list_id: str) -> Response:
    found = catalog_page.price_list(page, parse_id(price_list_id))
    return render(page, "catalog/price_list.html", section="catalog", **found)


@router.post("/catalog/price-lists/{price_list_id}")
async def update_price_list(page: PageDep, price_list_id: str, form: FormDep) -> Response:
    """Name, dates and description; the currency stays (the lines priced from it are in it)."""
    record_id = parse_id(price_list_id)
    back = f"{PRICE_LISTS}/{record_id}"
    with refusals(page.i18n, back):
        names = ("name", "begins_on", "ends_on", "description")
        values = {name: forms.text(form, name) for name in names}
        data = forms.validated(PriceListUpdate, values, page.i18n, _labels(page))
        service.update_price_list(
            page.session,
            actor=page.actor,
            price_list_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return _saved(page, back)


@router.post("/catalog/price-lists/{price_list_id}/items")
async def add_item(page: PageDep, price_list_id: str, form: FormDep) -> Response:
    """A product's price in a unit: an amount, or a percentage of its list price or cost."""
    record_id = parse_id(price_list_id)
    back = f"{PRICE_LISTS}/{record_id}"
    with refusals(page.i18n, back):
        names = ("product_id", "unit_id", "pricing_method", "amount", "percentage")
        values = {name: forms.text(form, name) for name in (*names, "rounding", "rounding_amount")}
        values = {key: value for key, value in values.items() if value is not None}
        data = forms.validated(PriceListItemCreate, values, page.i18n, _labels(page))
        service.add_price_list_item(
            page.session, actor=page.actor, price_list_id=record_id, data=data
        )
    return _saved(page, back)


@router.post("/catalog/price-lists/{price_list_id}/items/{item_id}/delete")
async def delete_item(page: PageDep, price_list_id: str, item_id: str) -> Response:
    record_id = parse_id(price_list_id)
    back = f"{PRICE_LISTS}/{record_id}"
    with refusals(page.i18n, back):
        service.delete_price_list_item(
            page.session, actor=page.actor, price_list_id=record_id, item_id=parse_id(item_id)
        )
    return _saved(page, back)


def _labels(page: Page) -> dict[str, str]:
    _ = page.i18n.gettext
    return {
        "name": _("Name"),
        "product_number": _("Product number"),
        "default_unit_id": _("Default unit"),
        "unit_group_id": _("Default unit"),
        "list_price": _("List price"),
        "standard_cost": _("Standard cost"),
        "currency": _("Currency"),
        "begins_on": _("Start date"),
        "ends_on": _("End date"),
        "product_id": _("Product"),
        "amount": _("Amount"),
        "percentage": _("Percentage"),
        "rounding_amount": _("Rounding amount"),
        "base_unit": _("Base unit"),
        "description": _("Description"),
        "family_id": _("Product family"),
        "parent_id": _("Parent family"),
        "default_price_list_id": _("Default price list"),
    }
