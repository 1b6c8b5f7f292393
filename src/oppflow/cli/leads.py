"""``oppflow lead …``: leads for scripts, on the same services as the API.

Each command acts as the user named by ``--as`` (or ``OPPFLOW_USER``) with that user's rights,
opens one unit of work, calls a service and prints; errors are one line and exit status 1.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from oppflow.console import AsUser, JsonOut, as_actor, out, print_json, unit
from oppflow.leads import service
from oppflow.leads.repository import LeadRepository
from oppflow.leads.schemas import (
    DisqualifyRequest,
    LeadCreate,
    LeadFilters,
    LeadRead,
    QualifyRequest,
)
from oppflow.repository import MAX_PAGE

lead_app = typer.Typer(help="Leads, for scripts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(lead_app, name="lead")


@lead_app.command("list")
def lead_list(
    user: AsUser,
    state: Annotated[str | None, typer.Option(help="open, qualified or disqualified.")] = None,
    source: Annotated[str | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option("--q", help="Text in topic, names, e-mail.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE)] = 50,
    as_json: JsonOut = False,
) -> None:
    """Leads the user can read."""
    with unit(read_only=True) as session:
        filters = LeadFilters.model_validate({"state": state, "source": source, "q": search})
        repository = LeadRepository(session, as_actor(session, user))
        rows, _ = repository.page(repository.conditions(filters), limit=limit, cursor=None)
        items = [LeadRead.model_validate(row) for row in rows]
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table("id", "topic", "company", "state", "reason", "value")
    for item in items:
        value = "" if item.estimated_value is None else f"{item.estimated_value:,.2f}"
        table.add_row(
            str(item.id),
            item.topic,
            item.company_name or "",
            item.state,
            item.status_reason,
            value,
        )
    out.print(table)


@lead_app.command("show")
def lead_show(lead_id: uuid.UUID, user: AsUser) -> None:
    """One lead, as JSON."""
    with unit(read_only=True) as session:
        lead = LeadRepository(session, as_actor(session, user)).get(lead_id)
        print_json(LeadRead.model_validate(lead).model_dump(mode="json"))


@lead_app.command("create")
def lead_create(
    topic: str,
    user: AsUser,
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    company: Annotated[str | None, typer.Option(help="Company name.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    value: Annotated[Decimal | None, typer.Option(help="Estimated value.")] = None,
    source: Annotated[str | None, typer.Option(help="web, trade_show, partner, …")] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an open lead; prints its id."""
    fields: dict[str, Any] = {
        "topic": topic,
        "first_name": first_name,
        "last_name": last_name,
        "company_name": company,
        "email": email,
        "phone": phone,
        "estimated_value": value,
        "source": source,
        "description": description,
    }
    with unit() as session:
        data = LeadCreate.model_validate({k: v for k, v in fields.items() if v is not None})
        lead = service.create_lead(session, actor=as_actor(session, user), data=data)
        out.print(f"Created lead {lead.topic} {lead.id}", highlight=False)


@lead_app.command("qualify")
def lead_qualify(
    lead_id: uuid.UUID,
    user: AsUser,
    account: Annotated[uuid.UUID | None, typer.Option(help="Link this existing account.")] = None,
    contact: Annotated[uuid.UUID | None, typer.Option(help="Link this existing contact.")] = None,
    create_account: Annotated[
        bool | None, typer.Option("--create-account/--no-account", show_default=False)
    ] = None,
    create_contact: Annotated[
        bool | None, typer.Option("--create-contact/--no-contact", show_default=False)
    ] = None,
    create_opportunity: Annotated[bool, typer.Option("--opportunity/--no-opportunity")] = True,
    ignore_duplicates: Annotated[bool, typer.Option(help="Create despite matches.")] = False,
) -> None:
    """Qualify a lead into an account, a contact and an opportunity (on Develop).

    Existing records are linked with --account and --contact; possible duplicates are refused,
    naming them, unless linked or --ignore-duplicates."""
    with unit() as session:
        data = QualifyRequest(
            create_account=create_account,
            create_contact=create_contact,
            create_opportunity=create_opportunity,
            existing_account_id=account,
            existing_contact_id=contact,
            ignore_duplicates=ignore_duplicates,
        )
        done = service.qualify(session, actor=as_actor(session, user), lead_id=lead_id, data=data)
        for label, record in (
            ("account", done.account),
            ("contact", done.contact),
            ("opportunity", done.opportunity),
        ):
            out.print(f"{label}: {record.id if record else '-'}", highlight=False)


@lead_app.command("disqualify")
def lead_disqualify(
    lead_id: uuid.UUID,
    user: AsUser,
    reason: Annotated[
        str, typer.Option(help="lost, cannot_contact, no_longer_interested or canceled.")
    ] = "lost",
) -> None:
    """Close a lead as disqualified."""
    with unit() as session:
        data = DisqualifyRequest.model_validate({"status_reason": reason})
        lead = service.disqualify(
            session, actor=as_actor(session, user), lead_id=lead_id, data=data
        )
        out.print(f"{lead.topic}: {lead.state} ({lead.status_reason})", highlight=False)


@lead_app.command("reactivate")
def lead_reactivate(lead_id: uuid.UUID, user: AsUser) -> None:
    """Open a qualified or disqualified lead again."""
    with unit() as session:
        lead = service.reactivate(session, actor=as_actor(session, user), lead_id=lead_id)
        out.print(f"{lead.topic}: {lead.state} ({lead.status_reason})", highlight=False)
