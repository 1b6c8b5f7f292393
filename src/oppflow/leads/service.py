"""Rules on leads: create, change, delete, qualify, disqualify and reactivate.

A lead is open (new, contacted), qualified or disqualified; a closed (qualified or disqualified)
lead is read-only until it is reactivated. Qualifying creates or links an account, a contact and
an opportunity in one savepoint, so a failure half-way leaves none of them behind, and carries the
lead's process instance over to the opportunity (DESIGN §1.1).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from oppflow.errors import Conflict, NotFound, RecordClosed, ValidationFailed
from oppflow.leads.matching import company_key, email_key
from oppflow.leads.repository import DuplicateRepository, LeadRepository
from oppflow.leads.schemas import (
    DisqualifyRequest,
    Duplicate,
    LeadCreate,
    LeadUpdate,
    QualifyRequest,
)
from oppflow.models import Account, Contact, Lead, Opportunity
from oppflow.process import service as process_service
from oppflow.records import apply_changes, check_version, owned_values, stamp_new
from oppflow.repository import RecordRepository
from oppflow.sales import service as sales_service
from oppflow.sales.repository import AccountRepository, ContactRepository
from oppflow.sales.schemas import AccountCreate, ContactCreate
from oppflow.security.actor import Actor
from oppflow.security.scope import require

R = TypeVar("R", Account, Contact)

# The fields an opportunity takes from the lead it is qualified from.
CARRIED_FIELDS = (
    "estimated_value",
    "description",
    "purchase_timeframe",
    "budget_amount",
    "purchase_process",
    "decision_maker_identified",
)


def create_lead(
    session: Session, *, actor: Actor, data: LeadCreate, external_id: str | None = None
) -> Lead:
    """Create an open lead and start it on the lead process (Qualify, 1-Qualify);
    ``external_id`` is an import's."""
    values = owned_values(session, actor, "lead", data.model_dump(exclude_unset=True))
    sales_service.check_references(session, actor, values)
    lead = Lead(**values, external_id=external_id)
    stamp_new(lead, actor)
    LeadRepository(session, actor).add(lead)
    process_service.start_lead(session, actor=actor, lead=lead)
    return lead


def ensure_open(lead: Lead) -> None:
    """A qualified or disqualified lead is read-only until it is reactivated (409)."""
    if lead.state != "open":
        raise RecordClosed(
            f"The lead is {lead.state}; reactivate it before changing it.", state=lead.state
        )


def _writable(session: Session, actor: Actor, lead_id: uuid.UUID, if_match: int | None) -> Lead:
    lead = LeadRepository(session, actor).get(lead_id)
    check_version(lead, if_match)
    require(session, actor, "write", lead)
    return lead


def update_lead(
    session: Session,
    *,
    actor: Actor,
    lead_id: uuid.UUID,
    data: LeadUpdate,
    if_match: int | None = None,
) -> Lead:
    lead = _writable(session, actor, lead_id, if_match)
    ensure_open(lead)
    changes = data.model_dump(exclude_unset=True)
    sales_service.check_references(session, actor, changes)
    apply_changes(lead, changes, actor)
    session.flush()
    return lead


def delete_lead(
    session: Session, *, actor: Actor, lead_id: uuid.UUID, if_match: int | None = None
) -> None:
    """Delete a lead with its notes and process; one qualified into an opportunity is kept, as
    the opportunity's history starts on it."""
    repository = LeadRepository(session, actor)
    lead = repository.get(lead_id)
    check_version(lead, if_match)
    require(session, actor, "delete", lead)
    if lead.qualified_opportunity_id is not None:
        raise Conflict("This lead was qualified into an opportunity; it cannot be deleted.")
    repository.delete(lead)


def disqualify(
    session: Session,
    *,
    actor: Actor,
    lead_id: uuid.UUID,
    data: DisqualifyRequest,
    if_match: int | None = None,
) -> Lead:
    """Close an open lead as disqualified, with a reason; one with an opportunity cannot be."""
    lead = _writable(session, actor, lead_id, if_match)
    if lead.qualified_opportunity_id is not None:
        raise Conflict(
            "A lead with an opportunity cannot be disqualified.",
            opportunity_id=str(lead.qualified_opportunity_id),
        )
    ensure_open(lead)
    apply_changes(lead, {"state": "disqualified", "status_reason": data.status_reason}, actor)
    session.flush()
    return lead


def reactivate(
    session: Session, *, actor: Actor, lead_id: uuid.UUID, if_match: int | None = None
) -> Lead:
    """Open a qualified or disqualified lead again (status new); what qualifying created stays."""
    lead = _writable(session, actor, lead_id, if_match)
    if lead.state == "open":
        raise Conflict("The lead is already open.")
    apply_changes(lead, {"state": "open", "status_reason": "new"}, actor)
    session.flush()
    return lead


# Qualification.
@dataclass(frozen=True)
class Qualified:
    account: Account | None
    contact: Contact | None
    opportunity: Opportunity | None


@dataclass(frozen=True)
class _Plan:
    """What qualifying does with each record: link an existing one, create one, or neither."""

    account_id: uuid.UUID | None
    create_account: bool
    contact_id: uuid.UUID | None
    create_contact: bool
    create_opportunity: bool


def qualify(
    session: Session,
    *,
    actor: Actor,
    lead_id: uuid.UUID,
    data: QualifyRequest,
    if_match: int | None = None,
) -> Qualified:
    """Qualify an open lead: create or link its account, contact and opportunity, all or nothing.

    409 with ``duplicates`` when an account to create has the normalised name of a readable one,
    or a contact to create the e-mail of a readable one, unless ``ignore_duplicates``.
    """
    lead = _writable(session, actor, lead_id, if_match)
    ensure_open(lead)
    if lead.qualified_opportunity_id is not None:
        raise Conflict("This lead was already qualified into an opportunity.")
    plan = _plan(lead, data)
    if not data.ignore_duplicates:
        _refuse_duplicates(session, actor, lead, plan)
    with session.begin_nested():
        account = _account(session, actor, lead, plan)
        contact = _contact(session, actor, lead, plan, account)
        opportunity = None
        if plan.create_opportunity:
            opportunity = _opportunity(session, actor, lead, account, contact)
            process_service.carry_to_opportunity(
                session, actor=actor, lead=lead, opportunity=opportunity
            )
        qualified = {
            "state": "qualified",
            "status_reason": "qualified",
            "qualified_account_id": account.id if account else None,
            "qualified_contact_id": contact.id if contact else None,
            "qualified_opportunity_id": opportunity.id if opportunity else None,
        }
        apply_changes(lead, qualified, actor)
        session.flush()
    return Qualified(account, contact, opportunity)


def _plan(lead: Lead, data: QualifyRequest) -> _Plan:
    account_id = data.existing_account_id or lead.account_id
    contact_id = data.existing_contact_id or lead.contact_id
    return _Plan(
        account_id=account_id,
        create_account=_create(
            data.create_account, account_id, lead.company_name, "account", "company name"
        ),
        contact_id=contact_id,
        create_contact=_create(
            data.create_contact, contact_id, lead.last_name, "contact", "last name"
        ),
        create_opportunity=data.create_opportunity,
    )


def _create(
    asked: bool | None, existing: uuid.UUID | None, source: str | None, what: str, field: str
) -> bool:
    """Whether to create an account or contact: asked, or by default when the lead has what it
    needs and no existing one is linked."""
    if asked and existing is not None:
        raise ValidationFailed(
            f"create_{what}: an existing {what} is linked; do not ask to create one as well.",
            field=f"create_{what}",
        )
    if asked and not source:
        raise ValidationFailed(
            f"create_{what}: the lead has no {field} to create the {what} from.",
            field=f"create_{what}",
        )
    if asked is None:
        return existing is None and bool(source)
    return asked


def find_duplicates(session: Session, *, actor: Actor, lead: Lead) -> list[Duplicate]:
    """Readable accounts named like the lead's company, and contacts with the lead's e-mail."""
    repository = DuplicateRepository(
        AccountRepository(session, actor), ContactRepository(session, actor)
    )
    found: list[Duplicate] = []
    if lead.company_name:
        key = company_key(lead.company_name)
        found += [
            Duplicate(table="account", id=account_id, name=name)
            for account_id, name in repository.account_names()
            if company_key(name) == key
        ]
    if lead.email:
        found += [
            Duplicate(table="contact", id=contact.id, name=_full_name(contact))
            for contact in repository.contacts_with_email(email_key(lead.email))
        ]
    return found


def _refuse_duplicates(session: Session, actor: Actor, lead: Lead, plan: _Plan) -> None:
    tables = {"account"} if plan.create_account else set()
    if plan.create_contact:
        tables.add("contact")
    found = [d for d in find_duplicates(session, actor=actor, lead=lead) if d.table in tables]
    if found:
        names = "; ".join(f"{d.table} {d.name} ({d.id})" for d in found)
        raise Conflict(
            f"Possible duplicates: {names}. Link them (existing_account_id, "
            "existing_contact_id) or send ignore_duplicates.",
            duplicates=[d.model_dump(mode="json") for d in found],
        )


def _full_name(contact: Contact) -> str:
    return " ".join(part for part in (contact.first_name, contact.last_name) if part)


def _account(session: Session, actor: Actor, lead: Lead, plan: _Plan) -> Account | None:
    if plan.account_id is not None:
        return _existing(AccountRepository(session, actor), plan.account_id, "existing_account_id")
    if not plan.create_account:
        return None
    data = AccountCreate(name=lead.company_name or "", owner_id=lead.owner_id)
    return sales_service.create_account(session, actor=actor, data=data)


def _contact(
    session: Session, actor: Actor, lead: Lead, plan: _Plan, account: Account | None
) -> Contact | None:
    if plan.contact_id is not None:
        return _existing(ContactRepository(session, actor), plan.contact_id, "existing_contact_id")
    if not plan.create_contact:
        return None
    data = ContactCreate(
        first_name=lead.first_name,
        last_name=lead.last_name or "",
        email=lead.email,
        phone=lead.phone,
        account_id=account.id if account else None,
        owner_id=lead.owner_id,
    )
    return sales_service.create_contact(session, actor=actor, data=data)


def _existing(repository: RecordRepository[R], record_id: uuid.UUID, field: str) -> R:
    """A record to link; unknown or unreadable ids are a 422 naming the request field."""
    try:
        return repository.get(record_id)
    except NotFound as error:
        raise ValidationFailed(f"{field}: {error.detail}", field=field) from error


def _opportunity(
    session: Session,
    actor: Actor,
    lead: Lead,
    account: Account | None,
    contact: Contact | None,
) -> Opportunity:
    values: dict[str, Any] = {field: getattr(lead, field) for field in CARRIED_FIELDS}
    values |= {
        "name": lead.topic,
        "owner_id": lead.owner_id,
        "account_id": account.id if account else None,
        "contact_id": contact.id if contact else None,
        "originating_lead_id": lead.id,
    }
    return sales_service.new_opportunity(session, actor=actor, values=values)
