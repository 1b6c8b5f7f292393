"""``oppflow quote …``: an opportunity's lines and its quotes through their lifecycle, on the
same services as the API. Each command acts as the user named by ``--as`` (or
``OPPFLOW_USER``); a refused change is one line on stderr and exit status 1."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from oppflow.console import AsUser, JsonOut, as_actor, fail, out, print_json, unit
from oppflow.quotes import opportunity_lines, service
from oppflow.quotes.repository import QuoteRepository
from oppflow.quotes.schemas import (
    CloseQuoteRequest,
    LineCreate,
    LineRead,
    QuoteCreate,
    QuoteFilters,
    QuoteRead,
    WinQuoteRequest,
)
from oppflow.repository import MAX_PAGE

quote_app = typer.Typer(help="Opportunity lines and quotes.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(quote_app, name="quote")


def _said(quote: Any) -> str:
    read = QuoteRead.model_validate(quote)
    return (
        f"{read.quote_number} rev {read.revision_number} {read.id}: {read.state} "
        f"({read.status_reason}), {read.total_amount:,.2f} {read.currency}"
    )


@quote_app.command("add-line")
def add_line(
    user: AsUser,
    opportunity: Annotated[
        uuid.UUID | None, typer.Option(help="Add it to this opportunity.")
    ] = None,
    quote: Annotated[uuid.UUID | None, typer.Option(help="Or to this draft quote.")] = None,
    product: Annotated[uuid.UUID | None, typer.Option(help="A catalogue product.")] = None,
    write_in: Annotated[str | None, typer.Option(help="Or a write-in's name.")] = None,
    quantity: Annotated[Decimal, typer.Option()] = Decimal(1),
    price: Annotated[Decimal | None, typer.Option(help="Override the price list's.")] = None,
    discount: Annotated[Decimal, typer.Option(help="Manual discount.")] = Decimal(0),
    tax: Annotated[Decimal, typer.Option()] = Decimal(0),
) -> None:
    """Add a product or write-in line to an opportunity (or a draft quote)."""
    if (opportunity is None) == (quote is None):
        fail("name --opportunity or --quote")
    fields = {
        "product_id": product,
        "write_in_name": write_in,
        "quantity": quantity,
        "price_per_unit": price,
        "manual_discount": discount,
        "tax": tax,
    }
    with unit() as session:
        actor = as_actor(session, user)
        data = LineCreate.model_validate({k: v for k, v in fields.items() if v is not None})
        if opportunity is not None:
            line: Any = opportunity_lines.add_line(
                session, actor=actor, opportunity_id=opportunity, data=data
            )
        else:
            assert quote is not None
            line = service.add_quote_line(session, actor=actor, quote_id=quote, data=data)
        read = LineRead.model_validate(line)
    out.print(f"Line {read.line_number} {read.id}: {read.extended_amount:,.2f}", highlight=False)


@quote_app.command("create")
def quote_create(
    opportunity_id: uuid.UUID,
    user: AsUser,
    name: Annotated[str | None, typer.Option(help="Default: the opportunity's.")] = None,
    language: Annotated[str | None, typer.Option(help="en or fr.")] = None,
) -> None:
    """A draft quote from an opportunity, with its customer, price list and lines."""
    with unit() as session:
        fields = {"name": name, "language": language}
        data = QuoteCreate.model_validate({k: v for k, v in fields.items() if v is not None})
        quote = service.create_from_opportunity(
            session, actor=as_actor(session, user), opportunity_id=opportunity_id, data=data
        )
        out.print(f"Created {_said(quote)}", highlight=False)


@quote_app.command("list")
def quote_list(
    user: AsUser,
    opportunity: Annotated[uuid.UUID | None, typer.Option(help="Of this opportunity.")] = None,
    state: Annotated[str | None, typer.Option(help="draft, active, won or closed.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE)] = 50,
    as_json: JsonOut = False,
) -> None:
    """Quotes the user can read."""
    with unit(read_only=True) as session:
        filters = QuoteFilters.model_validate({"state": state, "opportunity_id": opportunity})
        repository = QuoteRepository(session, as_actor(session, user))
        rows, _ = repository.page(repository.conditions(filters), limit=limit, cursor=None)
        items = [QuoteRead.model_validate(row) for row in rows]
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table("id", "number", "rev", "name", "state", "total")
    for item in items:
        total = f"{item.total_amount:,.2f} {item.currency}"
        row = (item.quote_number, str(item.revision_number), item.name, item.state, total)
        table.add_row(str(item.id), *row)
    out.print(table)


@quote_app.command("show")
def quote_show(quote_id: uuid.UUID, user: AsUser) -> None:
    """A quote and its lines, as JSON."""
    with unit(read_only=True) as session:
        actor = as_actor(session, user)
        shown = QuoteRead.model_validate(
            service.get_quote(session, actor=actor, quote_id=quote_id)
        ).model_dump(mode="json")
        lines = service.list_quote_lines(session, actor=actor, quote_id=quote_id)
        shown["lines"] = [LineRead.model_validate(line).model_dump(mode="json") for line in lines]
    print_json(shown)


@quote_app.command("activate")
def quote_activate(quote_id: uuid.UUID, user: AsUser) -> None:
    """Draft → Active."""
    with unit() as session:
        quote = service.activate(session, actor=as_actor(session, user), quote_id=quote_id)
        out.print(_said(quote), highlight=False)


@quote_app.command("revise")
def quote_revise(quote_id: uuid.UUID, user: AsUser) -> None:
    """Close an active quote as revised; prints the new draft."""
    with unit() as session:
        draft = service.revise(session, actor=as_actor(session, user), quote_id=quote_id)
        out.print(f"Revised into {_said(draft)}", highlight=False)


@quote_app.command("win")
def quote_win(
    quote_id: uuid.UUID,
    user: AsUser,
    close_opportunity: Annotated[
        bool, typer.Option("--close-opportunity/--keep-opportunity-open")
    ] = True,
) -> None:
    """Active → Won; the opportunity closes as won for the quote's total unless kept open."""
    with unit() as session:
        data = WinQuoteRequest(close_opportunity=close_opportunity)
        quote = service.win(session, actor=as_actor(session, user), quote_id=quote_id, data=data)
        out.print(_said(quote), highlight=False)


@quote_app.command("close")
def quote_close(
    quote_id: uuid.UUID,
    user: AsUser,
    reason: Annotated[str, typer.Option(help="lost or canceled.")] = "canceled",
) -> None:
    """Close a draft or active quote as lost or canceled."""
    with unit() as session:
        data = CloseQuoteRequest.model_validate({"status_reason": reason})
        quote = service.close(session, actor=as_actor(session, user), quote_id=quote_id, data=data)
        out.print(_said(quote), highlight=False)
