"""Analytics services: thin on purpose, the rules are in which rows the repository reads."""

from __future__ import annotations

from sqlalchemy.orm import Session

from oppflow.analytics.repository import AnalyticsRepository
from oppflow.analytics.schemas import Funnel, FunnelFilters
from oppflow.security.actor import Actor


def funnel(session: Session, *, actor: Actor, filters: FunnelFilters) -> Funnel:
    """The funnel of the open opportunities the actor may read, by pipeline phase."""
    return Funnel(phases=AnalyticsRepository(session, actor).funnel(filters))
