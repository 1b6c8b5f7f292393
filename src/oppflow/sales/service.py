"""Rules on accounts, contacts, competitors and opportunities, including win, lose and reopen.

Services are stateless functions called the same way by the API, the web pages, the CLI and the
demo generator; they flush but never commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.clock import today
from oppflow.errors import Conflict, NotFound, RecordClosed, ValidationFailed
from oppflow.models import (
    Account,
    Competitor,
    Contact,
    Opportunity,
    OpportunityClose,
    Stakeholder,
)
from oppflow.models.base import new_id
from oppflow.process import service as process_service
from oppflow.quotes import revenue
from oppflow.quotes.closing import close_open_quotes
from oppflow.records import apply_changes, check_version, owned_values, stamp_new
from oppflow.related.repository import LinkRepository
from oppflow.repository import RecordRepository
from oppflow.sales.repository import (
    AccountRepository,
    CompetitorRepository,
    ContactRepository,
    OpportunityRepository,
)
from oppflow.sales.schemas import (
    AccountCreate,
    AccountUpdate,
    CompetitorCreate,
    CompetitorUpdate,
    ContactCreate,
    ContactUpdate,
    LoseRequest,
    OpportunityCreate,
    OpportunityUpdate,
    WinRequest,
)
from oppflow.security.actor import Actor
from oppflow.security.scope import require

# The ids a record's values may name, and where each must be readable.
REFERENCES: dict[str, type[RecordRepository[Any]]] = {
    "account_id": AccountRepository,
    "contact_id": ContactRepository,
    "competitor_id": CompetitorRepository,
}


def check_references(session: Session, actor: Actor, values: dict[str, Any]) -> None:
    """Unknown or unreadable ids in a request body are a 422 naming the field."""
    for field, repository in REFERENCES.items():
        if values.get(field) is not None:
            try:
                repository(session, actor).require_readable(values[field])
            except NotFound as error:
                raise ValidationFailed(f"{field}: {error.detail}", field=field) from error


# Accounts, contacts and competitors: plain records.
def create_account(
    session: Session, *, actor: Actor, data: AccountCreate, external_id: str | None = None
) -> Account:
    """``external_id`` is an import's: the record's id in the system it comes from."""
    values = owned_values(session, actor, "account", data.model_dump())
    check_references(session, actor, values)
    account = Account(**values, external_id=external_id)
    stamp_new(account, actor)
    return AccountRepository(session, actor).add(account)


def update_account(
    session: Session,
    *,
    actor: Actor,
    account_id: uuid.UUID,
    data: AccountUpdate,
    if_match: int | None = None,
) -> Account:
    account = AccountRepository(session, actor).get(account_id)
    return _update(session, actor, account, data.model_dump(exclude_unset=True), if_match)


def create_contact(
    session: Session, *, actor: Actor, data: ContactCreate, external_id: str | None = None
) -> Contact:
    values = owned_values(session, actor, "contact", data.model_dump())
    check_references(session, actor, values)
    contact = Contact(**values, external_id=external_id)
    stamp_new(contact, actor)
    return ContactRepository(session, actor).add(contact)


def update_contact(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    data: ContactUpdate,
    if_match: int | None = None,
) -> Contact:
    contact = ContactRepository(session, actor).get(contact_id)
    return _update(session, actor, contact, data.model_dump(exclude_unset=True), if_match)


def create_competitor(session: Session, *, actor: Actor, data: CompetitorCreate) -> Competitor:
    actor.require("competitor", "create")
    competitor = Competitor(**data.model_dump())
    stamp_new(competitor, actor)
    return CompetitorRepository(session, actor).add(competitor)


def update_competitor(
    session: Session,
    *,
    actor: Actor,
    competitor_id: uuid.UUID,
    data: CompetitorUpdate,
    if_match: int | None = None,
) -> Competitor:
    competitor = CompetitorRepository(session, actor).get(competitor_id)
    return _update(session, actor, competitor, data.model_dump(exclude_unset=True), if_match)


R = TypeVar("R", Account, Contact, Competitor, Opportunity)


def _update(
    session: Session, actor: Actor, record: R, changes: dict[str, Any], if_match: int | None
) -> R:
    check_version(record, if_match)
    require(session, actor, "write", record)
    check_references(session, actor, changes)
    apply_changes(record, changes, actor)
    session.flush()
    return record


def delete_record(
    session: Session,
    *,
    actor: Actor,
    table: str,
    record_id: uuid.UUID,
    if_match: int | None = None,
) -> None:
    """Delete an account, contact, competitor or opportunity; records still in use are kept."""
    repository = REPOSITORIES[table](session, actor)
    record = repository.get(record_id)
    check_version(record, if_match)
    require(session, actor, "delete", record)
    if isinstance(record, Opportunity):
        ensure_open(record)
    try:
        with session.begin_nested():
            repository.delete(record)
    except IntegrityError as error:
        raise Conflict(f"This {repository.label} is still referenced by other records.") from error


REPOSITORIES: dict[str, type[Any]] = {
    "accounts": AccountRepository,
    "contacts": ContactRepository,
    "competitors": CompetitorRepository,
    "opportunities": OpportunityRepository,
}


# Opportunities.
def ensure_open(opportunity: Opportunity) -> None:
    """A closed opportunity is read-only until it is reopened."""
    if opportunity.state != "open":
        raise RecordClosed(
            f"The opportunity is {opportunity.state}; reopen it before changing it.",
            state=opportunity.state,
        )


def create_opportunity(
    session: Session,
    *,
    actor: Actor,
    data: OpportunityCreate,
    at: datetime | None = None,
    external_id: str | None = None,
) -> Opportunity:
    """Create an opportunity and start it on its process (the default one unless named);
    ``at`` dates the start in the past and ``external_id`` names the record in the system it
    comes from (imports)."""
    values = data.model_dump(exclude_unset=True, exclude={"process_key"})
    if external_id is not None:
        values["external_id"] = external_id
    opportunity = new_opportunity(session, actor=actor, values=values)
    process_service.start_opportunity(
        session, actor=actor, opportunity=opportunity, process_key=data.process_key, at=at
    )
    return opportunity


def new_opportunity(session: Session, *, actor: Actor, values: dict[str, Any]) -> Opportunity:
    """An opportunity on no process yet (its caller starts one, or carries a lead's over)."""
    values = owned_values(session, actor, "opportunity", values)
    check_references(session, actor, values)
    values = revenue.check_changes(session, actor, None, values)
    # Its id now, since the first flush comes later: when the caller starts its process.
    opportunity = Opportunity(id=new_id(), **values)
    stamp_new(opportunity, actor)
    OpportunityRepository(session, actor).add_pending(opportunity)
    if opportunity.contact_id is not None:
        # The contact appears among the stakeholders (DESIGN §1.1); a new record has none yet.
        stakeholder = Stakeholder(
            opportunity_id=opportunity.id,
            contact_id=opportunity.contact_id,
            created_by_id=actor.user_id,
        )
        LinkRepository(session).add_pending(stakeholder)
    return opportunity


def _contact_as_stakeholder(session: Session, actor: Actor, opportunity: Opportunity) -> None:
    """The opportunity's contact appears among its stakeholders (DESIGN §1.1)."""
    if opportunity.contact_id is not None:
        LinkRepository(session).ensure_stakeholder(
            opportunity.id, opportunity.contact_id, actor.user_id
        )


def update_opportunity(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    data: OpportunityUpdate,
    if_match: int | None = None,
) -> Opportunity:
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    check_version(opportunity, if_match)
    ensure_open(opportunity)
    changes = data.model_dump(exclude_unset=True)
    require(session, actor, "write", opportunity)
    changes = revenue.check_changes(session, actor, opportunity, changes)
    _update(session, actor, opportunity, changes, if_match)
    if changes.get("contact_id") is not None:
        _contact_as_stakeholder(session, actor, opportunity)
    return opportunity


def win(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    data: WinRequest,
    if_match: int | None = None,
) -> Opportunity:
    """Close as won: actual revenue defaults to the estimated value, the date to today."""
    opportunity = _closable(session, actor, opportunity_id, if_match)
    revenue = (
        data.actual_revenue if data.actual_revenue is not None else opportunity.estimated_value
    )
    # One audit row labelled "close" holds every field the close changes.
    with audit.labelled(session, "close"):
        apply_changes(opportunity, {"actual_value": revenue, "probability": 100}, actor)
        close = _close(
            session,
            actor,
            opportunity,
            outcome="won",
            status_reason="won",
            close_date=data.close_date,
            description=data.description,
        )
        close.actual_revenue = revenue
    return opportunity


def lose(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    data: LoseRequest,
    if_match: int | None = None,
) -> Opportunity:
    """Close as lost (canceled or out-sold, optionally to a competitor)."""
    opportunity = _closable(session, actor, opportunity_id, if_match)
    check_references(session, actor, {"competitor_id": data.competitor_id})
    with audit.labelled(session, "close"):
        apply_changes(opportunity, {"actual_value": None, "probability": 0}, actor)
        close = _close(
            session,
            actor,
            opportunity,
            outcome="lost",
            status_reason=data.status_reason,
            close_date=data.close_date,
            description=data.description,
        )
        close.competitor_id = data.competitor_id
    # Every face closes the opportunity here, so every face closes its quotes too.
    close_open_quotes(session, actor, opportunity.id)
    return opportunity


def _closable(
    session: Session, actor: Actor, opportunity_id: uuid.UUID, if_match: int | None
) -> Opportunity:
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    check_version(opportunity, if_match)
    require(session, actor, "write", opportunity)
    ensure_open(opportunity)
    return opportunity


def _close(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    *,
    outcome: str,
    status_reason: str,
    close_date: Any,
    description: str | None,
) -> OpportunityClose:
    closed_on = close_date or today()
    close = OpportunityClose(
        opportunity_id=opportunity.id,
        outcome=outcome,
        status_reason=status_reason,
        close_date=closed_on,
        description=description,
        created_by_id=actor.user_id,
    )
    apply_changes(
        opportunity,
        {
            "state": outcome,
            "status_reason": status_reason,
            "forecast_category": outcome,
            "actual_close_date": closed_on,
        },
        actor,
    )
    return OpportunityRepository(session, actor).add_close(close)


def reopen(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, if_match: int | None = None
) -> Opportunity:
    """Back to open / in progress; the close record is kept, marked canceled."""
    repository = OpportunityRepository(session, actor)
    opportunity = repository.get(opportunity_id)
    check_version(opportunity, if_match)
    require(session, actor, "write", opportunity)
    if opportunity.state == "open":
        raise Conflict("The opportunity is already open.")
    close = repository.open_close_record(opportunity.id)
    with audit.labelled(session, "reopen"):
        if close is not None:
            close.status = "canceled"
        apply_changes(
            opportunity,
            {
                "state": "open",
                "status_reason": "in_progress",
                "forecast_category": "pipeline",
                "actual_value": None,
                "actual_close_date": None,
            },
            actor,
        )
    return opportunity


def close_records(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID
) -> list[OpportunityClose]:
    """The close records of an opportunity, oldest first (canceled ones included)."""
    repository = OpportunityRepository(session, actor)
    repository.get(opportunity_id)
    return repository.close_records(opportunity_id)
