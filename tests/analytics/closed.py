"""The closed deals' rows as every writer keeps them, checked against the change log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import closed_deals
from oppflow.analytics.history_repository import read_timelines
from oppflow.models import ClosedDeal, Opportunity

COLUMNS = (
    "won", "born_at", "closed_at", "actual_close_date", "cycle_microseconds", "closed_value",
    "status_reason", "phases_reached",
    "outlook_state", "outlook_probability", "outlook_process_key", "outlook_stage",
)  # fmt: skip


def assert_closed_deals_follow_the_log(factory: sessionmaker[Session]) -> int:
    """The rows as kept equal those read from the whole change log now; how many there are."""
    with factory() as session:
        kept = {
            deal.opportunity_id: {c: getattr(deal, c) for c in COLUMNS}
            for deal in session.scalars(select(ClosedDeal))
        }
        wanted = select(Opportunity.id)
        timelines = read_timelines(session.connection(), wanted, closed_deals.FIELDS, born=True)
        read = {
            row["opportunity_id"]: {c: row[c] for c in COLUMNS}
            for timeline in timelines
            if (row := closed_deals.digest(timeline)) is not None
        }
    assert kept == read
    return len(kept)
