"""Analytics services: thin on purpose, the rules are in which rows the repository reads."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from oppflow.analytics.repository import AnalyticsRepository
from oppflow.analytics.schemas import (
    Funnel,
    FunnelFilters,
    OpportunitySearch,
    OutcomeTotal,
    OwnerTotal,
)
from oppflow.clock import today
from oppflow.models import Opportunity
from oppflow.security.actor import Actor


def funnel(session: Session, *, actor: Actor, filters: FunnelFilters) -> Funnel:
    """The funnel of the open opportunities the actor may read, by pipeline phase."""
    return Funnel(phases=AnalyticsRepository(session, actor).funnel(filters))


def pipeline_by_owner(
    session: Session, *, actor: Actor, filters: FunnelFilters
) -> list[OwnerTotal]:
    """The open pipeline the actor may read, per owner, the largest first."""
    return AnalyticsRepository(session, actor).pipeline_by_owner(filters)


def quarter_of(day: date) -> tuple[date, date]:
    """The first and last day of the calendar quarter of ``day``."""
    start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)
    return start, following - timedelta(days=1)


def outcomes_this_quarter(
    session: Session, *, actor: Actor, filters: FunnelFilters
) -> dict[str, OutcomeTotal]:
    """Won and lost opportunities closed this quarter, by state."""
    start, end = quarter_of(today())
    rows = AnalyticsRepository(session, actor).outcomes(filters, start, end)
    found: dict[str, OutcomeTotal] = {
        "won": OutcomeTotal(state="won", count=0, value=Decimal(0)),
        "lost": OutcomeTotal(state="lost", count=0, value=Decimal(0)),
    }
    found.update({row.state: row for row in rows})
    return found


def search_opportunities(
    session: Session, *, actor: Actor, search: OpportunitySearch
) -> tuple[list[Opportunity], int]:
    """One page of a list view of the opportunities the actor may read, and the view's size."""
    return AnalyticsRepository(session, actor).search(search, actor.user_id)
