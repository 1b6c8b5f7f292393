"""Queries on the records attached to opportunities and on notes.

Link tables (stakeholders, sales team, competitors) are reached through their opportunity, which
the services load through the scoped :class:`OpportunityRepository` first; files are scoped on
their own as well, so a file id alone never reaches the content of an unreadable opportunity.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from oppflow.models import (
    Competitor,
    Contact,
    Note,
    Opportunity,
    OpportunityCompetitor,
    OpportunityFile,
    SalesTeamMember,
    Stakeholder,
    User,
)
from oppflow.repository import RecordRepository
from oppflow.security.scope import read_scope


class LinkRepository:
    """Adds and removes rows of the link tables."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Stakeholder | SalesTeamMember | OpportunityCompetitor) -> None:
        self.session.add(row)
        self.session.flush()

    def add_pending(self, row: Stakeholder) -> None:
        """Add without flushing (with a record that is itself not written yet)."""
        self.session.add(row)

    def delete(self, row: Stakeholder | SalesTeamMember | OpportunityCompetitor) -> None:
        self.session.delete(row)
        self.session.flush()

    def stakeholder(self, opportunity_id: uuid.UUID, contact_id: uuid.UUID) -> Stakeholder | None:
        return self.session.get(Stakeholder, (opportunity_id, contact_id))

    def stakeholders(self, opportunity_id: uuid.UUID) -> list[tuple[Stakeholder, Contact]]:
        """The stakeholders of an opportunity with their contacts, in the order they were added."""
        query = (
            select(Stakeholder, Contact)
            .join(Contact, Contact.id == Stakeholder.contact_id)
            .where(Stakeholder.opportunity_id == opportunity_id)
            .order_by(Stakeholder.created_at, Stakeholder.contact_id)
        )
        return [(row[0], row[1]) for row in self.session.execute(query)]

    def ensure_stakeholder(
        self, opportunity_id: uuid.UUID, contact_id: uuid.UUID, by: uuid.UUID | None
    ) -> None:
        """Make a contact a stakeholder (role "stakeholder") unless it already is one."""
        if self.stakeholder(opportunity_id, contact_id) is None:
            self.add(
                Stakeholder(opportunity_id=opportunity_id, contact_id=contact_id, created_by_id=by)
            )

    def member(self, opportunity_id: uuid.UUID, user_id: uuid.UUID) -> SalesTeamMember | None:
        return self.session.get(SalesTeamMember, (opportunity_id, user_id))

    def sales_team(self, opportunity_id: uuid.UUID) -> list[tuple[SalesTeamMember, User]]:
        query = (
            select(SalesTeamMember, User)
            .join(User, User.id == SalesTeamMember.user_id)
            .where(SalesTeamMember.opportunity_id == opportunity_id)
            .order_by(SalesTeamMember.created_at, SalesTeamMember.user_id)
        )
        return [(row[0], row[1]) for row in self.session.execute(query)]

    def competitor(
        self, opportunity_id: uuid.UUID, competitor_id: uuid.UUID
    ) -> OpportunityCompetitor | None:
        return self.session.get(OpportunityCompetitor, (opportunity_id, competitor_id))

    def competitors(
        self, opportunity_id: uuid.UUID
    ) -> list[tuple[OpportunityCompetitor, Competitor]]:
        query = (
            select(OpportunityCompetitor, Competitor)
            .join(Competitor, Competitor.id == OpportunityCompetitor.competitor_id)
            .where(OpportunityCompetitor.opportunity_id == opportunity_id)
            .order_by(OpportunityCompetitor.created_at, Competitor.name)
        )
        return [(row[0], row[1]) for row in self.session.execute(query)]


class NoteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, note_id: uuid.UUID) -> Note | None:
        return self.session.get(Note, note_id)

    def for_lead(self, lead_id: uuid.UUID) -> list[Note]:
        query = select(Note).where(Note.lead_id == lead_id).order_by(Note.at, Note.id)
        return list(self.session.scalars(query))

    def for_opportunity(self, opportunity: Opportunity) -> list[Note]:
        """The opportunity's notes and those of the lead it was qualified from, oldest first."""
        condition = Note.opportunity_id == opportunity.id
        if opportunity.originating_lead_id is not None:
            condition = or_(condition, Note.lead_id == opportunity.originating_lead_id)
        query = select(Note).where(condition).order_by(Note.at, Note.id)
        return list(self.session.scalars(query))

    def add(self, note: Note) -> Note:
        self.session.add(note)
        self.session.flush()
        return note

    def delete(self, note: Note) -> None:
        self.session.delete(note)
        self.session.flush()


def contents_attached(session: Session, contents: Collection[str]) -> set[str]:
    """Those of ``contents`` that a file of any opportunity has (whoever may read it)."""
    if not contents:
        return set()
    query = select(OpportunityFile.sha256).where(OpportunityFile.sha256.in_(contents))
    return set(session.scalars(query.distinct()))


class FileRepository(RecordRepository[OpportunityFile]):
    """Files the actor may read: a file privilege, and read access to the opportunity."""

    model = OpportunityFile
    label = "file"

    def readable(self) -> Select[tuple[OpportunityFile]]:
        opportunities = select(Opportunity.id).where(read_scope(self.actor, Opportunity))
        return super().readable().where(OpportunityFile.opportunity_id.in_(opportunities))

    def for_opportunity(self, opportunity_id: uuid.UUID) -> list[OpportunityFile]:
        query = (
            self.readable()
            .where(OpportunityFile.opportunity_id == opportunity_id)
            .order_by(OpportunityFile.created_at, OpportunityFile.id)
        )
        return list(self.session.scalars(query))

    def count_with_content(self, sha256: str) -> int:
        """How many files, of any opportunity, have this content (so it can be shared)."""
        query = select(func.count()).where(OpportunityFile.sha256 == sha256)
        return self.session.scalar(query) or 0
