"""Rules on an opportunity's stakeholders, sales team and competitors, and on notes.

Reading any of them needs the opportunity (or lead) to be readable: the scoped repository answers
404 otherwise. Adding, changing and removing needs the append privilege on it, and an open
opportunity (a closed one is read-only until reopened); adding or removing a sales team member
gives or takes read and write access, so it needs the share privilege too. Notes are commentary,
not changes of the record: they may be added to closed records too. Every change is written to
the audit log against the opportunity or lead.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.errors import Conflict, NotFound, ValidationFailed
from oppflow.leads.repository import LeadRepository
from oppflow.models import (
    Competitor,
    Contact,
    Lead,
    Note,
    Opportunity,
    OpportunityCompetitor,
    SalesTeamMember,
    Stakeholder,
    User,
)
from oppflow.related.repository import LinkRepository, NoteRepository
from oppflow.related.schemas import (
    CompetitorLinkCreate,
    CompetitorLinkRead,
    NoteCreate,
    SalesTeamCreate,
    SalesTeamRead,
    SalesTeamUpdate,
    StakeholderCreate,
    StakeholderRead,
    StakeholderUpdate,
)
from oppflow.sales.repository import CompetitorRepository, ContactRepository, OpportunityRepository
from oppflow.sales.service import ensure_open
from oppflow.security.actor import Actor
from oppflow.security.scope import require
from oppflow.security.service import active_reader


def changeable_opportunity(
    session: Session, actor: Actor, opportunity_id: uuid.UUID
) -> Opportunity:
    """An opportunity the actor may attach records to: readable (404), append (403), open (409)."""
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    require(session, actor, "append", opportunity)
    ensure_open(opportunity)
    return opportunity


def _referenced(repository: Any, record_id: uuid.UUID, field: str) -> Any:
    """A record named in a request body; unknown or unreadable ones are a 422 naming the field."""
    try:
        return repository.get(record_id)
    except NotFound as error:
        raise ValidationFailed(f"{field}: {error.detail}", field=field) from error


def _log(session: Session, action: str, record: Lead | Opportunity, **changes: Any) -> None:
    audit.record(
        session,
        action,
        table=record.__tablename__,
        record_id=record.id,
        changes={key: [old, new] for key, (old, new) in changes.items()},
    )


# Stakeholders.
def _stakeholder_view(row: Stakeholder, contact: Contact) -> StakeholderRead:
    return StakeholderRead(
        contact_id=row.contact_id,
        name=" ".join(part for part in (contact.first_name, contact.last_name) if part),
        email=contact.email,
        job_title=contact.job_title,
        role=row.role,
        created_at=row.created_at,
        created_by_id=row.created_by_id,
    )


def list_stakeholders(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID
) -> list[StakeholderRead]:
    OpportunityRepository(session, actor).get(opportunity_id)
    rows = LinkRepository(session).stakeholders(opportunity_id)
    return [_stakeholder_view(row, contact) for row, contact in rows]


def add_stakeholder(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, data: StakeholderCreate
) -> StakeholderRead:
    """Make a contact a stakeholder with a role; 409 when it already is one."""
    opportunity = changeable_opportunity(session, actor, opportunity_id)
    contact: Contact = _referenced(ContactRepository(session, actor), data.contact_id, "contact_id")
    links = LinkRepository(session)
    if links.stakeholder(opportunity.id, contact.id) is not None:
        raise Conflict("That contact is already a stakeholder; change its role instead.")
    row = Stakeholder(
        opportunity_id=opportunity.id,
        contact_id=contact.id,
        role=data.role,
        created_by_id=actor.user_id,
    )
    links.add(row)
    _log(session, "add_stakeholder", opportunity, stakeholder=(None, f"{contact.id}:{data.role}"))
    return _stakeholder_view(row, contact)


def _stakeholder(
    session: Session, actor: Actor, opportunity_id: uuid.UUID, contact_id: uuid.UUID
) -> tuple[Opportunity, Stakeholder]:
    opportunity = changeable_opportunity(session, actor, opportunity_id)
    row = LinkRepository(session).stakeholder(opportunity.id, contact_id)
    if row is None:
        raise NotFound(f"Contact {contact_id} is not a stakeholder of this opportunity.")
    return opportunity, row


def change_stakeholder(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: StakeholderUpdate,
) -> StakeholderRead:
    opportunity, row = _stakeholder(session, actor, opportunity_id, contact_id)
    old, row.role = row.role, data.role
    session.flush()
    _log(session, "change_stakeholder", opportunity, role=(old, data.role))
    contact = session.get(Contact, contact_id)
    assert contact is not None  # the foreign key keeps it
    return _stakeholder_view(row, contact)


def remove_stakeholder(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    opportunity, row = _stakeholder(session, actor, opportunity_id, contact_id)
    LinkRepository(session).delete(row)
    _log(session, "remove_stakeholder", opportunity, stakeholder=(f"{contact_id}:{row.role}", None))


# Sales team.
def _member_view(row: SalesTeamMember, user: User) -> SalesTeamRead:
    return SalesTeamRead(
        user_id=row.user_id,
        username=user.username,
        full_name=user.full_name,
        role=row.role,
        created_at=row.created_at,
        created_by_id=row.created_by_id,
    )


def list_sales_team(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID
) -> list[SalesTeamRead]:
    OpportunityRepository(session, actor).get(opportunity_id)
    return [
        _member_view(row, user) for row, user in LinkRepository(session).sales_team(opportunity_id)
    ]


def add_sales_team_member(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, data: SalesTeamCreate
) -> SalesTeamRead:
    """Put a user on the sales team (they then read and write the opportunity).

    That grants access as a share does, so it needs the share privilege on the opportunity:
    a member's own place on the team (read, write, append) is not enough to bring others in."""
    opportunity = changeable_opportunity(session, actor, opportunity_id)
    require(session, actor, "share", opportunity)
    user = active_reader(session, data.user_id, "opportunity", field="user_id")
    links = LinkRepository(session)
    if links.member(opportunity.id, user.id) is not None:
        raise Conflict("That user is already on the sales team; change their role instead.")
    row = SalesTeamMember(
        opportunity_id=opportunity.id, user_id=user.id, role=data.role, created_by_id=actor.user_id
    )
    links.add(row)
    _log(session, "add_sales_team_member", opportunity, member=(None, f"{user.id}:{data.role}"))
    return _member_view(row, user)


def _member(
    session: Session, actor: Actor, opportunity_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Opportunity, SalesTeamMember]:
    opportunity = changeable_opportunity(session, actor, opportunity_id)
    row = LinkRepository(session).member(opportunity.id, user_id)
    if row is None:
        raise NotFound(f"User {user_id} is not on the sales team of this opportunity.")
    return opportunity, row


def change_sales_team_member(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    user_id: uuid.UUID,
    data: SalesTeamUpdate,
) -> SalesTeamRead:
    opportunity, row = _member(session, actor, opportunity_id, user_id)
    old, row.role = row.role, data.role
    session.flush()
    _log(session, "change_sales_team_member", opportunity, role=(old, data.role))
    user = session.get(User, user_id)
    assert user is not None  # the foreign key keeps it
    return _member_view(row, user)


def remove_sales_team_member(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Take a user off the sales team; as withdrawing a share, it needs the share privilege."""
    opportunity, row = _member(session, actor, opportunity_id, user_id)
    require(session, actor, "share", opportunity)
    LinkRepository(session).delete(row)
    _log(session, "remove_sales_team_member", opportunity, member=(f"{user_id}:{row.role}", None))


# Competitors.
def _competitor_view(row: OpportunityCompetitor, competitor: Competitor) -> CompetitorLinkRead:
    return CompetitorLinkRead(
        competitor_id=competitor.id,
        name=competitor.name,
        website=competitor.website,
        strengths=competitor.strengths,
        weaknesses=competitor.weaknesses,
        created_at=row.created_at,
        created_by_id=row.created_by_id,
    )


def list_competitors(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID
) -> list[CompetitorLinkRead]:
    OpportunityRepository(session, actor).get(opportunity_id)
    rows = LinkRepository(session).competitors(opportunity_id)
    return [_competitor_view(row, competitor) for row, competitor in rows]


def add_competitor(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, data: CompetitorLinkCreate
) -> CompetitorLinkRead:
    opportunity = changeable_opportunity(session, actor, opportunity_id)
    competitor: Competitor = _referenced(
        CompetitorRepository(session, actor), data.competitor_id, "competitor_id"
    )
    links = LinkRepository(session)
    if links.competitor(opportunity.id, competitor.id) is not None:
        raise Conflict("That competitor is already linked to this opportunity.")
    row = OpportunityCompetitor(
        opportunity_id=opportunity.id, competitor_id=competitor.id, created_by_id=actor.user_id
    )
    links.add(row)
    _log(session, "add_competitor", opportunity, competitor=(None, str(competitor.id)))
    return _competitor_view(row, competitor)


def remove_competitor(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID, competitor_id: uuid.UUID
) -> None:
    opportunity = changeable_opportunity(session, actor, opportunity_id)
    links = LinkRepository(session)
    row = links.competitor(opportunity.id, competitor_id)
    if row is None:
        raise NotFound(f"Competitor {competitor_id} is not linked to this opportunity.")
    links.delete(row)
    _log(session, "remove_competitor", opportunity, competitor=(str(competitor_id), None))


# Notes.
def _parent(
    session: Session, actor: Actor, lead_id: uuid.UUID | None, opportunity_id: uuid.UUID | None
) -> Lead | Opportunity:
    if lead_id is not None:
        return LeadRepository(session, actor).get(lead_id)
    if opportunity_id is None:
        raise ValueError("a note belongs to a lead or an opportunity")
    return OpportunityRepository(session, actor).get(opportunity_id)


def list_notes(
    session: Session,
    *,
    actor: Actor,
    lead_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
) -> list[Note]:
    """A lead's notes, or an opportunity's with those of the lead it came from; oldest first."""
    parent = _parent(session, actor, lead_id, opportunity_id)
    if isinstance(parent, Lead):
        return NoteRepository(session).for_lead(parent.id)
    return NoteRepository(session).for_opportunity(parent)


def add_note(
    session: Session,
    *,
    actor: Actor,
    data: NoteCreate,
    lead_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
) -> Note:
    """Add a note (append privilege on the lead or opportunity)."""
    parent = _parent(session, actor, lead_id, opportunity_id)
    require(session, actor, "append", parent)
    note = Note(text=data.text, author_id=actor.user_id)
    if isinstance(parent, Lead):
        note.lead_id = parent.id
    else:
        note.opportunity_id = parent.id
    NoteRepository(session).add(note)
    _log(session, "add_note", parent, note=(None, str(note.id)))
    return note


def delete_note(
    session: Session,
    *,
    actor: Actor,
    note_id: uuid.UUID,
    lead_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
) -> None:
    """Delete a note of this lead or opportunity: its author needs append on it, others write."""
    parent = _parent(session, actor, lead_id, opportunity_id)
    notes = NoteRepository(session)
    note = notes.get(note_id)
    if note is None or parent.id not in (note.lead_id, note.opportunity_id):
        raise NotFound(f"No note {note_id} on this {'lead' if lead_id else 'opportunity'}.")
    require(session, actor, "append" if note.author_id == actor.user_id else "write", parent)
    notes.delete(note)
    _log(session, "delete_note", parent, note=(str(note.id), None))
