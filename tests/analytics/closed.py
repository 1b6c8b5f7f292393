"""The summaries every writer keeps (closed deals, stage stints, phase moves, spans), checked
against the change log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import closed_deals, phase_moves, spans, stage_entries, stage_stints
from oppflow.analytics.history_repository import read_timelines
from oppflow.models import (
    ClosedDeal,
    Opportunity,
    OpportunityChange,
    OpportunitySpan,
    PhaseMove,
    StageStint,
)

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


def assert_stage_stints_follow_the_log(factory: sessionmaker[Session]) -> int:
    """The stints as kept equal those read from the whole change log now, and so does each
    record's stage entry (its last change of process, stage or state) and every span of the
    reported fields; how many stints."""
    assert_stage_entries_follow_the_log(factory)
    assert_spans_follow_the_log(factory)
    columns = ("opportunity_id", "entered_us", "left_us", "process_key", "stage")
    with factory() as session:
        kept = sorted(
            tuple(getattr(stint, c) for c in columns)
            for stint in session.scalars(select(StageStint))
        )
        timelines = read_timelines(
            session.connection(), select(Opportunity.id), stage_stints.FIELDS
        )
        read = sorted(
            tuple(row[c] for c in columns)
            for timeline in timelines
            for row in stage_stints.rows_of(timeline)
        )
    assert kept == read
    return len(kept)


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
    with factory() as session:
        kept = sorted(
            tuple(getattr(move, c) for c in columns) for move in session.scalars(select(PhaseMove))
        )
        wanted = select(Opportunity.id)
        timelines = read_timelines(session.connection(), wanted, phase_moves.FIELDS)
        read = sorted(
            tuple(row[c] for c in columns)
            for timeline in timelines
            for row in phase_moves.rows_of(timeline)
        )
    assert kept == read
    return len(kept)


def assert_spans_follow_the_log(factory: sessionmaker[Session]) -> int:
    """The spans as kept equal those read from the whole change log now; how many there are."""
    columns = ("opportunity_id", "from_us", "to_us", *spans.FIELDS)
    with factory() as session:
        kept = sorted(
            tuple(getattr(span, c) for c in columns)
            for span in session.scalars(select(OpportunitySpan))
        )
        timelines = read_timelines(session.connection(), select(Opportunity.id), spans.FIELDS)
        read = sorted(
            tuple(row[c] for c in columns)
            for timeline in timelines
            for row in spans.rows_of(timeline)
        )
    assert kept == read
    return len(kept)
