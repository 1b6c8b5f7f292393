"""The summaries every writer keeps (closed deals, stage stints, phase moves, spans), checked
against the change log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import (
    closed_deals,
    phase_moves,
    rewriting,
    spans,
    stage_entries,
    stage_stints,
)
from oppflow.analytics.history_repository import read_timelines
from oppflow.models import (
    ClosedDeal,
    Opportunity,
    OpportunityChange,
)
from oppflow.models.analytics import OPEN_END


def assert_closed_deals_follow_the_log(factory: sessionmaker[Session]) -> int:
    """The rows as kept (every stretch closed, those of the past too) equal those read from
    the whole change log now; how many deals are closed now."""
    columns = tuple(ClosedDeal.__table__.columns.keys())
    _follows_the_log(factory, closed_deals.SUMMARY, columns)
    with factory() as session:
        holding = select(func.count()).where(ClosedDeal.to_us == OPEN_END)
        return session.scalar(holding) or 0


def assert_stage_stints_follow_the_log(factory: sessionmaker[Session]) -> int:
    """The stints as kept equal those read from the whole change log now, and so does each
    record's stage entry (its last change of process, stage or state) and every span of the
    reported fields; how many stints."""
    assert_stage_entries_follow_the_log(factory)
    assert_spans_follow_the_log(factory)
    columns = ("opportunity_id", "entered_us", "left_us", "process_key", "stage")
    return _follows_the_log(factory, stage_stints.SUMMARY, columns)


def assert_stage_entries_follow_the_log(factory: sessionmaker[Session]) -> None:
    log = OpportunityChange
    with factory() as session:
        kept = dict(session.execute(select(Opportunity.id, Opportunity.stage_entered_at)).all())
        read = dict.fromkeys(kept) | dict(
            session.execute(
                select(log.opportunity_id, func.max(log.effective_at))
                .where(log.field.in_(stage_entries.FIELDS))
                .group_by(log.opportunity_id)
            ).all()
        )
    assert kept == read


def assert_phase_moves_follow_the_log(factory: sessionmaker[Session]) -> int:
    """The moves as kept equal those read from the whole change log now; how many there are."""
    columns = ("opportunity_id", "at_us", "phase", "move", "reopened")
    return _follows_the_log(factory, phase_moves.SUMMARY, columns)


def assert_spans_follow_the_log(factory: sessionmaker[Session]) -> int:
    """The spans as kept equal those read from the whole change log now; how many there are."""
    columns = ("opportunity_id", "from_us", "to_us", *spans.FIELDS)
    return _follows_the_log(factory, spans.SUMMARY, columns)


def _follows_the_log(
    factory: sessionmaker[Session], summary: rewriting.Summary, columns: tuple[str, ...]
) -> int:
    """The summary's rows as kept equal those its ``rows_of`` makes of the whole change log
    now (``columns`` of each); how many there are."""
    with factory() as session:
        kept = sorted(
            tuple(getattr(row, c) for c in columns)
            for row in session.scalars(select(summary.model))
        )
        timelines = read_timelines(
            session.connection(), select(Opportunity.id), summary.fields, born=summary.born
        )
        read = sorted(
            tuple(row[c] for c in columns)
            for timeline in timelines
            for row in summary.rows_of(timeline)
        )
    assert kept == read
    return len(kept)
