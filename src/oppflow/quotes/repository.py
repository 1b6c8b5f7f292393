"""Queries on quotes (scoped through their opportunity) and on the lines of opportunities and
quotes (read only once their opportunity or quote came through a scoped repository)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from oppflow.errors import NotFound
from oppflow.models import Opportunity, OpportunityLine, Quote, QuoteLine
from oppflow.repository import RecordRepository, equal_to
from oppflow.security.scope import through_opportunity

OPEN_STATES = ("draft", "active")


class QuoteRepository(RecordRepository[Quote]):
    """Quotes whose opportunity the quote read depth reaches (its owner and unit, its shares,
    its sales team), as for the opportunity itself."""

    model = Quote
    label = "quote"

    def readable(self) -> Select[tuple[Quote]]:
        quotes: Select[Any] = select(Quote)
        return quotes.join(Opportunity, Opportunity.id == Quote.opportunity_id).where(
            through_opportunity(self.actor, "quote", "read")
        )

    list_filters = {
        "state": equal_to(Quote.state),
        "opportunity_id": equal_to(Quote.opportunity_id),
    }

    def next_number(self) -> int:
        """The next quote number (a concurrent create taking it too fails on the unique
        constraint: 409, retry)."""
        return int(self.session.scalar(select(func.coalesce(func.max(Quote.number), 0))) or 0) + 1

    def open_of(self, opportunity_id: uuid.UUID) -> list[Quote]:
        """Every draft or active quote of an opportunity, whoever may read it: closing the
        opportunity closes them all."""
        query = select(Quote).where(
            Quote.opportunity_id == opportunity_id, Quote.state.in_(OPEN_STATES)
        )
        return list(self.session.scalars(query))

    def opportunity_of(self, quote: Quote) -> Opportunity:
        """The opportunity of a quote that came through this repository (whose depth the
        caller's quote privileges are measured against)."""
        opportunity = self.session.get(Opportunity, quote.opportunity_id)
        assert opportunity is not None  # the foreign key sees to it
        return opportunity

    def add_pending(self, record: Quote) -> Quote:
        self.session.add(record)
        return record


class LineRepository:
    """Lines of one opportunity or one quote, in line-number order."""

    def __init__(self, session: Any, model: type[OpportunityLine] | type[QuoteLine]) -> None:
        self.session = session
        self.model = model
        self.parent = (
            OpportunityLine.opportunity_id if model is OpportunityLine else QuoteLine.quote_id
        )

    def lines_of(self, parent_id: uuid.UUID) -> list[Any]:
        query = select(self.model).where(self.parent == parent_id)
        return list(self.session.scalars(query.order_by(self.model.line_number)))

    def get(self, parent_id: uuid.UUID, line_id: uuid.UUID) -> Any:
        query = select(self.model).where(self.parent == parent_id, self.model.id == line_id)
        line = self.session.scalar(query)
        if line is None:
            raise NotFound(f"No line {line_id} here.")
        return line

    def count(self, parent_id: uuid.UUID) -> int:
        query = select(func.count()).select_from(self.model).where(self.parent == parent_id)
        return int(self.session.scalar(query) or 0)

    def next_line_number(self, parent_id: uuid.UUID) -> int:
        query = select(func.coalesce(func.max(self.model.line_number), 0)).where(
            self.parent == parent_id
        )
        return int(self.session.scalar(query) or 0) + 1

    def add_all(self, lines: Sequence[Any]) -> None:
        self.session.add_all(lines)
        self.session.flush()

    def delete(self, line: Any) -> None:
        self.session.delete(line)
        self.session.flush()
