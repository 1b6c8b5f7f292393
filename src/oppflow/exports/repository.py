"""The rows an export reads: each table's readable select, from its domain repository (so
row-level security is the lists' own), read in keyset pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from oppflow.catalog.repository import PriceListRepository, ProductRepository
from oppflow.dataverse.entities import SYSTEMUSERS
from oppflow.dataverse.repository import EntitySetRepository
from oppflow.exports.tables import ExportTable
from oppflow.leads.repository import LeadRepository
from oppflow.models import Opportunity, Quote, QuoteLine, StageHistory, User
from oppflow.quotes.repository import QuoteRepository
from oppflow.repository import RecordRepository
from oppflow.sales.repository import (
    AccountRepository,
    CompetitorRepository,
    ContactRepository,
    OpportunityRepository,
)
from oppflow.security.actor import Actor

Readable = Callable[[Session, Actor], Select[Any]]


def _scoped(repository: type[RecordRepository[Any]]) -> Readable:
    return lambda session, actor: repository(session, actor).readable()


def _stage_history(session: Session, actor: Actor) -> Select[Any]:
    """The stage changes of the readable opportunities (a lead's own stay with the lead)."""
    opportunities = OpportunityRepository(session, actor).readable()
    readable_ids = opportunities.with_only_columns(Opportunity.id).scalar_subquery()
    return select(StageHistory).where(StageHistory.opportunity_id.in_(readable_ids))


def _quote_lines(session: Session, actor: Actor) -> Select[Any]:
    """The lines of the readable quotes."""
    quotes = QuoteRepository(session, actor).readable()
    readable_ids = quotes.with_only_columns(Quote.id).scalar_subquery()
    return select(QuoteLine).where(QuoteLine.quote_id.in_(readable_ids))


def _users(session: Session, actor: Actor) -> Select[Any]:
    # As /api/v1/users and the Dataverse systemusers: every user, for those who read users.
    return EntitySetRepository(session, actor, SYSTEMUSERS).readable()


READABLE: dict[str, Readable] = {
    "accounts": _scoped(AccountRepository),
    "contacts": _scoped(ContactRepository),
    "leads": _scoped(LeadRepository),
    "opportunities": _scoped(OpportunityRepository),
    "stage-history": _stage_history,
    "competitors": _scoped(CompetitorRepository),
    "users": _users,
    "quotes": _scoped(QuoteRepository),
    "quote-lines": _quote_lines,
    "products": _scoped(ProductRepository),
    "price-lists": _scoped(PriceListRepository),
}


class ExportRepository:
    """The readable rows of one table that meet the export's conditions."""

    def __init__(self, session: Session, actor: Actor, table: ExportTable) -> None:
        self.session = session
        self.table = table
        self.query = READABLE[table.name](session, actor)

    def page(
        self, conditions: Sequence[ColumnElement[bool]], *, after: Any, size: int
    ) -> list[Any]:
        """Up to ``size`` rows whose key follows ``after`` (None: from the first), in key
        order: each page starts where the last ended, on the primary key's index, however
        far into the table it is (no OFFSET)."""
        key = self.table.key
        query = self.query.where(*conditions)
        if after is not None:
            query = query.where(key > after)
        return list(self.session.scalars(query.order_by(key).limit(size)))

    def user_names(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The user names of ``ids`` (anyone may see who can own a record, as lookups do)."""
        query = select(User.id, User.username).where(User.id.in_(set(ids)))
        return {row.id: row.username for row in self.session.execute(query)}

    def count(self, conditions: Sequence[ColumnElement[bool]]) -> int:
        counted = self.query.where(*conditions).order_by(None).subquery()
        return self.session.scalar(select(func.count()).select_from(counted)) or 0
