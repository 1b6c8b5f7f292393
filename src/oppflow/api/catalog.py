"""``/api/v1/unit-groups``, ``/units``, ``/product-families``, ``/products`` and
``/price-lists`` (with their ``/items``): the organisation-wide catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from oppflow.api.deps import ActorDep, IfMatchDep, SessionDep, set_etag
from oppflow.api.responses import CHANGE, CREATE, DELETE, problems
from oppflow.catalog import service
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
    PriceListItemRead,
    PriceListItemUpdate,
    PriceListRead,
    PriceListUpdate,
    ProductCreate,
    ProductFamilyCreate,
    ProductFamilyRead,
    ProductFilters,
    ProductRead,
    ProductUpdate,
    UnitCreate,
    UnitGroupCreate,
    UnitGroupRead,
    UnitRead,
    UnitUpdate,
)
from oppflow.models import Unit
from oppflow.repository import MAX_PAGE
from oppflow.schemas import Page

router = APIRouter(tags=["catalogue"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=200)]
# Organisation-wide tables answer 403 to a role that does not read them at all.
CATALOGUE_LIST = problems(401, 403, 422)
CATALOGUE_READ = problems(401, 403, 404, 422)
CREATE_UNDER = {**CREATE, **problems(404)}


# Units and unit groups
@router.get("/unit-groups", responses=CATALOGUE_LIST)
async def list_unit_groups(
    session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[UnitGroupRead]:
    """Unit groups (uomschedule), oldest first."""
    actor.require("product", "read")
    rows, next_cursor = UnitGroupRepository(session, actor).page([], limit=limit, cursor=cursor)
    return Page(items=[UnitGroupRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/unit-groups", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def create_unit_group(
    session: SessionDep, actor: ActorDep, data: UnitGroupCreate, response: Response
) -> UnitGroupRead:
    """A unit group with its base unit."""
    group = service.create_unit_group(session, actor=actor, data=data)
    set_etag(response, group.version)
    return UnitGroupRead.model_validate(group)


@router.get("/units", responses=CATALOGUE_LIST)
async def list_units(
    session: SessionDep,
    actor: ActorDep,
    group_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[UnitRead]:
    """Units (uom), oldest first, optionally of one group."""
    actor.require("product", "read")
    conditions = [Unit.group_id == group_id] if group_id else []
    rows, next_cursor = UnitRepository(session, actor).page(conditions, limit=limit, cursor=cursor)
    return Page(items=[UnitRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/units", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def create_unit(
    session: SessionDep, actor: ActorDep, data: UnitCreate, response: Response
) -> UnitRead:
    """A unit of a group: ``quantity`` of its base unit."""
    unit = service.create_unit(session, actor=actor, data=data)
    set_etag(response, unit.version)
    return UnitRead.model_validate(unit)


@router.get("/units/{uom_id}", responses=CATALOGUE_READ)
async def get_unit(
    session: SessionDep, actor: ActorDep, uom_id: uuid.UUID, response: Response
) -> UnitRead:
    """One unit."""
    actor.require("product", "read")
    unit = UnitRepository(session, actor).get(uom_id)
    set_etag(response, unit.version)
    return UnitRead.model_validate(unit)


@router.patch("/units/{uom_id}", responses=CHANGE)
async def update_unit(
    session: SessionDep,
    actor: ActorDep,
    uom_id: uuid.UUID,
    data: UnitUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> UnitRead:
    """Rename a unit or change how many base units it holds."""
    unit = service.update_unit(session, actor=actor, unit_id=uom_id, data=data, if_match=if_match)
    set_etag(response, unit.version)
    return UnitRead.model_validate(unit)


# Product families and products
@router.get("/product-families", responses=CATALOGUE_LIST)
async def list_product_families(
    session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[ProductFamilyRead]:
    """Product families, oldest first."""
    actor.require("product", "read")
    repository = ProductFamilyRepository(session, actor)
    rows, next_cursor = repository.page([], limit=limit, cursor=cursor)
    return Page(items=[ProductFamilyRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/product-families", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def create_product_family(
    session: SessionDep, actor: ActorDep, data: ProductFamilyCreate, response: Response
) -> ProductFamilyRead:
    """A product family, optionally inside another."""
    family = service.create_product_family(session, actor=actor, data=data)
    set_etag(response, family.version)
    return ProductFamilyRead.model_validate(family)


@router.get("/products", responses=CATALOGUE_LIST)
async def list_products(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[ProductFilters, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ProductRead]:
    """Products, oldest first, by state, family or text in the name or number (``q``)."""
    actor.require("product", "read")
    repository = ProductRepository(session, actor)
    rows, next_cursor = repository.page(repository.conditions(filters), limit=limit, cursor=cursor)
    return Page(items=[ProductRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/products", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def create_product(
    session: SessionDep, actor: ActorDep, data: ProductCreate, response: Response
) -> ProductRead:
    """A product, active; its number is unique (409 otherwise)."""
    product = service.create_product(session, actor=actor, data=data)
    set_etag(response, product.version)
    return ProductRead.model_validate(product)


@router.get("/products/{product_id}", responses=CATALOGUE_READ)
async def get_product(
    session: SessionDep, actor: ActorDep, product_id: uuid.UUID, response: Response
) -> ProductRead:
    """One product."""
    actor.require("product", "read")
    product = ProductRepository(session, actor).get(product_id)
    set_etag(response, product.version)
    return ProductRead.model_validate(product)


@router.patch("/products/{product_id}", responses=CHANGE)
async def update_product(
    session: SessionDep,
    actor: ActorDep,
    product_id: uuid.UUID,
    data: ProductUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> ProductRead:
    """Change a product; ``{"state": "retired"}`` retires it (no new lines)."""
    product = service.update_product(
        session, actor=actor, product_id=product_id, data=data, if_match=if_match
    )
    set_etag(response, product.version)
    return ProductRead.model_validate(product)


# Price lists and their items
@router.get("/price-lists", responses=CATALOGUE_LIST)
async def list_price_lists(
    session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[PriceListRead]:
    """Price lists (pricelevel), oldest first."""
    actor.require("price_list", "read")
    rows, next_cursor = PriceListRepository(session, actor).page([], limit=limit, cursor=cursor)
    return Page(items=[PriceListRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/price-lists", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def create_price_list(
    session: SessionDep, actor: ActorDep, data: PriceListCreate, response: Response
) -> PriceListRead:
    """A price list in one currency, optionally between two dates."""
    price_list = service.create_price_list(session, actor=actor, data=data)
    set_etag(response, price_list.version)
    return PriceListRead.model_validate(price_list)


@router.get("/price-lists/{price_list_id}", responses=CATALOGUE_READ)
async def get_price_list(
    session: SessionDep, actor: ActorDep, price_list_id: uuid.UUID, response: Response
) -> PriceListRead:
    """One price list."""
    actor.require("price_list", "read")
    price_list = PriceListRepository(session, actor).get(price_list_id)
    set_etag(response, price_list.version)
    return PriceListRead.model_validate(price_list)


@router.patch("/price-lists/{price_list_id}", responses=CHANGE)
async def update_price_list(
    session: SessionDep,
    actor: ActorDep,
    price_list_id: uuid.UUID,
    data: PriceListUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> PriceListRead:
    """Rename a price list or change its dates (its currency stays)."""
    price_list = service.update_price_list(
        session, actor=actor, price_list_id=price_list_id, data=data, if_match=if_match
    )
    set_etag(response, price_list.version)
    return PriceListRead.model_validate(price_list)


@router.get("/price-lists/{price_list_id}/items", responses=CATALOGUE_READ)
async def list_price_list_items(
    session: SessionDep, actor: ActorDep, price_list_id: uuid.UUID
) -> Page[PriceListItemRead]:
    """Every item of a price list (productpricelevel)."""
    actor.require("price_list", "read")
    PriceListRepository(session, actor).get(price_list_id)
    rows = PriceListItemRepository(session, actor).of_list(price_list_id)
    return Page(items=[PriceListItemRead.model_validate(r) for r in rows])


@router.post(
    "/price-lists/{price_list_id}/items",
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_UNDER,
)
async def add_price_list_item(
    session: SessionDep,
    actor: ActorDep,
    price_list_id: uuid.UUID,
    data: PriceListItemCreate,
    response: Response,
) -> PriceListItemRead:
    """Price a product in one of its units: an amount, or a percentage of its list price or
    cost, rounded as asked, with optional quantity breaks; one item per product and unit."""
    item = service.add_price_list_item(session, actor=actor, price_list_id=price_list_id, data=data)
    set_etag(response, item.version)
    return PriceListItemRead.model_validate(item)


@router.patch("/price-lists/{price_list_id}/items/{item_id}", responses=CHANGE)
async def update_price_list_item(
    session: SessionDep,
    actor: ActorDep,
    price_list_id: uuid.UUID,
    item_id: uuid.UUID,
    data: PriceListItemUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> PriceListItemRead:
    """Change how an item is priced (lines already priced keep their price)."""
    item = service.update_price_list_item(
        session,
        actor=actor,
        price_list_id=price_list_id,
        item_id=item_id,
        data=data,
        if_match=if_match,
    )
    set_etag(response, item.version)
    return PriceListItemRead.model_validate(item)


@router.delete(
    "/price-lists/{price_list_id}/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=DELETE,
)
async def delete_price_list_item(
    session: SessionDep,
    actor: ActorDep,
    price_list_id: uuid.UUID,
    item_id: uuid.UUID,
    if_match: IfMatchDep,
) -> None:
    """Take a product off a price list."""
    service.delete_price_list_item(
        session, actor=actor, price_list_id=price_list_id, item_id=item_id, if_match=if_match
    )
