"""The closed deals: what the change log says of each opportunity closed now, kept exact.

Win/loss and calibration of now ask of every deal closed: won or lost, when it was born and
closed, which phases it entered before the close, and its state 30 days before. Read from the
whole change log, that is about 15 µs of Python per log row (calibration at 100,000
opportunities: 15 s). So each close, reopen and backdated change rewrites its opportunity's
:class:`ClosedDeal` row from the log, in the same transaction (the change log's flush hook
calls :func:`follow` after writing its rows), and those reports of now read one row per deal.

A stage move, a field update and a create of an open opportunity write no ``state`` row that
closes or reopens, so they cost nothing here. What else a row holds of the record (its close
value and reason) cannot change while it stays closed: a closed opportunity is read-only until
reopened. Writers that bypass the ORM call :func:`refresh` (the bulk demo generator, per
chunk) or :func:`rebuild` (the tests' histories, migration 0016); the bulk importer takes
only open opportunities, and sends closed ones through the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from oppflow.analytics import rewriting
from oppflow.analytics.outcomes import (
    CLOSED_STATES,
    WIN_LOSS_FIELDS,
    closed_value,
    outlook_instant,
)
from oppflow.analytics.repository import ever_closed
from oppflow.analytics.timeline import PHASE_SEPARATOR, Timeline, phase_number
from oppflow.models import ClosedDeal

# A deal's row is made from what win/loss reads of its log (calibration's fields among them).
FIELDS = WIN_LOSS_FIELDS
# What a row keeps of the record at the close.
CLOSE_VALUES = frozenset({"actual_close_date", "actual_value", "estimated_value", "status_reason"})


def digest(timeline: Timeline) -> dict[str, Any] | None:
    """The row of an opportunity closed at the end of its log; None while it is open."""
    if not timeline.changes or timeline.born_at is None:
        return None
    end = timeline.changes[-1].at
    closed_at = timeline.closed_at(end)
    final = timeline.state_at(end)
    if closed_at is None or final is None:
        return None
    outlook = timeline.state_at(outlook_instant(closed_at, timeline.born_at)) or final
    return {
        "opportunity_id": timeline.opportunity_id,
        "won": final["state"] == "won",
        "born_at": timeline.born_at,
        "closed_at": closed_at,
        "actual_close_date": final["actual_close_date"],
        "cycle_microseconds": (closed_at - timeline.born_at) // timedelta(microseconds=1),
        # Exact decimal text (the log's own, plain notation), as the totals keep sums.
        "closed_value": str(
            closed_value(final["state"] == "won", final["actual_value"], final["estimated_value"])
        ),
        "status_reason": final["status_reason"],
        "phases_reached": phases_text(timeline.phases_entered(closed_at)),
        "outlook_state": outlook["state"],
        "outlook_probability": outlook["probability"],
        "outlook_process_key": outlook["process_key"],
        "outlook_stage": outlook["active_stage"],
    }


def phases_text(entered: Iterable[str]) -> str:
    """The phases entered, each once, in phase order: the reports read them as a set (and
    their highest), and a deal moved back and forth many times keeps a short row."""
    return PHASE_SEPARATOR.join(
        sorted(set(entered), key=lambda phase: (phase_number(phase), phase))
    )


def follow(
    session: Session,
    rows: Iterable[Mapping[str, Any]],
    *,
    backdated: bool,
    closed: Collection[uuid.UUID],
) -> None:
    """After the change log's rows of a flush are written: rewrite the row of each
    opportunity they close or reopen, and of each ``closed`` after the flush whose close
    values they change; of each they touch, when they are backdated (imported history)."""
    touched = {
        row["opportunity_id"]
        for row in rows
        if backdated or _closes_or_reopens(row) or _changes_a_closed_deal(row, closed)
    }
    if touched:
        refresh(session, touched)


def _closes_or_reopens(row: Mapping[str, Any]) -> bool:
    closing = row["new_value"] in CLOSED_STATES or row["old_value"] in CLOSED_STATES
    return row["field"] == "state" and closing


def _changes_a_closed_deal(row: Mapping[str, Any], closed: Collection[uuid.UUID]) -> bool:
    # The services refuse such changes (a closed deal is read-only until reopened); a path
    # that did not would still leave the row right.
    return row["field"] in CLOSE_VALUES and row["opportunity_id"] in closed


def _rows_of(timeline: Timeline) -> list[dict[str, Any]]:
    row = digest(timeline)
    return [] if row is None else [row]


SUMMARY = rewriting.Summary(ClosedDeal, tuple(FIELDS), _rows_of, born=True)


def refresh(session: Session, ids: Collection[uuid.UUID]) -> None:
    """Rewrite the rows of these opportunities from their change log."""
    rewriting.refresh(session, SUMMARY, ids)


def rebuild(session: Session) -> None:
    """Rewrite every row from the change log (after a bulk load, or by the migration)."""
    rewriting.rebuild(session, SUMMARY, *ever_closed())
