"""``oppflow product …`` and ``oppflow price-list …``: the catalogue, on the same services as
the API. Each command acts as the user named by ``--as`` (or ``OPPFLOW_USER``)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from oppflow.catalog import service
from oppflow.catalog.repository import (
    PriceListItemRepository,
    PriceListRepository,
    ProductRepository,
    UnitRepository,
)
from oppflow.catalog.schemas import (
    PriceListCreate,
    PriceListItemCreate,
    PriceListItemRead,
    PriceListRead,
    ProductCreate,
    ProductFilters,
    ProductRead,
    ProductUpdate,
    UnitGroupCreate,
)
from oppflow.console import AsUser, JsonOut, as_actor, out, print_json, unit
from oppflow.models import Unit
from oppflow.repository import MAX_PAGE

product_app = typer.Typer(help="Products, their units and unit groups.", no_args_is_help=True)
price_list_app = typer.Typer(help="Price lists and their items.", no_args_is_help=True)
Limit = Annotated[int, typer.Option(min=1, max=MAX_PAGE)]


def register(app: typer.Typer) -> None:
    app.add_typer(product_app, name="product")
    app.add_typer(price_list_app, name="price-list")


def _given(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


@product_app.command("unit-group")
def unit_group_create(
    name: str,
    user: AsUser,
    base_unit: Annotated[str, typer.Option(help="Its base unit's name.")] = "Primary Unit",
) -> None:
    """Create a unit group with its base unit; prints both ids."""
    with unit() as session:
        data = UnitGroupCreate(name=name, base_unit=base_unit)
        actor = as_actor(session, user)
        group = service.create_unit_group(session, actor=actor, data=data)
        units, _ = UnitRepository(session, actor).page(
            [Unit.group_id == group.id], limit=1, cursor=None
        )
        out.print(f"Created unit group {group.name} {group.id}", highlight=False)
        out.print(f"Base unit {units[0].name} {units[0].id}", highlight=False)


@product_app.command("list")
def product_list(
    user: AsUser,
    state: Annotated[str | None, typer.Option(help="active or retired.")] = None,
    search: Annotated[str | None, typer.Option("--q", help="Text in name or number.")] = None,
    limit: Limit = 50,
    as_json: JsonOut = False,
) -> None:
    """Products."""
    with unit(read_only=True) as session:
        filters = ProductFilters.model_validate(_given(state=state, q=search))
        repository = ProductRepository(session, as_actor(session, user))
        rows, _ = repository.page(repository.conditions(filters), limit=limit, cursor=None)
        items = [ProductRead.model_validate(row) for row in rows]
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table("id", "number", "name", "state", "list price")
    for item in items:
        price = "" if item.list_price is None else f"{item.list_price:,.2f}"
        table.add_row(str(item.id), item.product_number, item.name, item.state, price)
    out.print(table)


@product_app.command("show")
def product_show(product_id: uuid.UUID, user: AsUser) -> None:
    """One product, as JSON."""
    with unit(read_only=True) as session:
        product = ProductRepository(session, as_actor(session, user)).get(product_id)
        print_json(ProductRead.model_validate(product).model_dump(mode="json"))


@product_app.command("create")
def product_create(
    name: str,
    user: AsUser,
    number: Annotated[str, typer.Option(help="Its unique product number.")],
    unit_group: Annotated[uuid.UUID, typer.Option(help="Id of its unit group.")],
    default_unit: Annotated[uuid.UUID, typer.Option(help="Id of its default unit.")],
    list_price: Annotated[Decimal | None, typer.Option()] = None,
    cost: Annotated[Decimal | None, typer.Option(help="Standard cost.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an active product; prints its id."""
    fields = _given(
        name=name,
        product_number=number,
        unit_group_id=unit_group,
        default_unit_id=default_unit,
        list_price=list_price,
        standard_cost=cost,
        description=description,
    )
    with unit() as session:
        data = ProductCreate.model_validate(fields)
        product = service.create_product(session, actor=as_actor(session, user), data=data)
        out.print(f"Created product {product.product_number} {product.id}", highlight=False)


@product_app.command("retire")
def product_retire(product_id: uuid.UUID, user: AsUser) -> None:
    """Retire a product: it can no longer be added to lines."""
    with unit() as session:
        product = service.update_product(
            session,
            actor=as_actor(session, user),
            product_id=product_id,
            data=ProductUpdate(state="retired"),
        )
        out.print(f"{product.product_number}: {product.state}", highlight=False)


@price_list_app.command("list")
def price_list_list(user: AsUser, limit: Limit = 50, as_json: JsonOut = False) -> None:
    """Price lists."""
    with unit(read_only=True) as session:
        repository = PriceListRepository(session, as_actor(session, user))
        rows, _ = repository.page([], limit=limit, cursor=None)
        items = [PriceListRead.model_validate(row) for row in rows]
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table("id", "name", "currency", "begins", "ends")
    for item in items:
        begins, ends = (str(day) if day else "" for day in (item.begins_on, item.ends_on))
        table.add_row(str(item.id), item.name, item.currency, begins, ends)
    out.print(table)


@price_list_app.command("create")
def price_list_create(
    name: str,
    user: AsUser,
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. EUR.")],
) -> None:
    """Create a price list; prints its id."""
    with unit() as session:
        data = PriceListCreate.model_validate({"name": name, "currency": currency})
        price_list = service.create_price_list(session, actor=as_actor(session, user), data=data)
        out.print(f"Created price list {price_list.name} {price_list.id}", highlight=False)


@price_list_app.command("show")
def price_list_show(price_list_id: uuid.UUID, user: AsUser) -> None:
    """A price list and its items, as JSON."""
    with unit(read_only=True) as session:
        actor = as_actor(session, user)
        price_list = PriceListRepository(session, actor).get(price_list_id)
        items = PriceListItemRepository(session, actor).of_list(price_list_id)
        shown = PriceListRead.model_validate(price_list).model_dump(mode="json")
        shown["items"] = [
            PriceListItemRead.model_validate(i).model_dump(mode="json") for i in items
        ]
    print_json(shown)


@price_list_app.command("add-item")
def price_list_add_item(
    price_list_id: uuid.UUID,
    product_id: uuid.UUID,
    user: AsUser,
    amount: Annotated[Decimal | None, typer.Option(help="The price per unit.")] = None,
    percent_of_list: Annotated[Decimal | None, typer.Option(help="% of list price.")] = None,
    percent_of_cost: Annotated[Decimal | None, typer.Option(help="% of standard cost.")] = None,
    unit_id: Annotated[
        uuid.UUID | None, typer.Option("--unit", help="Default: the product's.")
    ] = None,
) -> None:
    """Price a product on a price list: an amount or a percentage of its list price or cost."""
    method = "amount"
    percentage = percent_of_list if percent_of_list is not None else percent_of_cost
    if percentage is not None:
        method = "percent_of_list" if percent_of_list is not None else "percent_of_cost"
    fields = _given(
        product_id=product_id,
        unit_id=unit_id,
        pricing_method=method,
        amount=amount,
        percentage=percentage,
    )
    with unit() as session:
        data = PriceListItemCreate.model_validate(fields)
        item = service.add_price_list_item(
            session, actor=as_actor(session, user), price_list_id=price_list_id, data=data
        )
        out.print(f"Added item {item.id}", highlight=False)
