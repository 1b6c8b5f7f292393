"""The closed deals: each stretch of time over which the change log says an opportunity stood
closed with the same values, kept exact.

Win/loss and calibration ask of every deal closed at an instant: won or lost, when it was
born and closed, which phases it entered before the close, its state 30 days before, and
(for their filters) its owner and process then. Read from the whole change log, that is
about 15 µs of Python per log row (calibration at 100,000 opportunities: 15 s). So each
close, reopen and backdated change rewrites its opportunity's :class:`ClosedDeal` rows from
the log, in the same transaction (the change log's flush hook calls :func:`follow` after
writing its rows). The reports of now read the rows that still hold, one per deal; as of an
instant, the rows holding it (decision 0038).

A stage move, a field update and a create of an open opportunity write no ``state`` row that
closes or reopens, so they cost nothing here. A closed opportunity's fields are read-only until
it is reopened, but not its owner: an assign ends the deal's row and begins the next with the
new owner, as a path around the services that changed a field would. Writers that bypass the
ORM call :func:`refresh` (the bulk demo generator, per chunk) or :func:`rebuild` (the tests'
histories, the upgrade across migration 0023); the bulk importer takes only open opportunities,
and sends closed ones through the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
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
from oppflow.analytics.timeline import (
    END_OF_TIME,
    PHASE_SEPARATOR,
    State,
    Timeline,
    encode,
    microseconds,
    phase_number,
)
from oppflow.models import ClosedDeal
from oppflow.models.analytics import OPEN_END

# A deal's rows are made from what win/loss reads of its log (calibration's fields among
# them) and the owner its filters read.
FIELDS = (*WIN_LOSS_FIELDS, "owner_id")


def rows_of(timeline: Timeline) -> list[dict[str, Any]]:
    """The rows of a whole timeline: one from each instant it stands closed with other values
    than just before; a reopen ends the last one."""
    rows: list[dict[str, Any]] = []
    for at, _before, after in timeline.instants(END_OF_TIME):
        closed = _closed(timeline, at, after)
        holding = rows[-1] if rows and rows[-1]["to_us"] == OPEN_END else None
        if holding is not None and closed is not None and _alike(holding, closed):
            continue
        begins = microseconds(at)
        if holding is not None:
            holding["to_us"] = begins
        if closed is not None:
            rows.append({**closed, "from_us": begins, "to_us": OPEN_END})
    return rows


def _alike(row: Mapping[str, Any], closed: Mapping[str, Any]) -> bool:
    """Whether a row says what ``closed`` says (its stretch aside, which ``closed`` lacks)."""
    return all(row[key] == value for key, value in closed.items())


def _closed(timeline: Timeline, at: datetime, state: State) -> dict[str, Any] | None:
    """What the reports read of a deal closed at ``at`` in ``state``; None while open."""
    if state["state"] not in CLOSED_STATES or timeline.born_at is None:
        return None
    closed_at = timeline.closed_at(at)
    if closed_at is None:
        return None
    won = state["state"] == "won"
    outlook = timeline.state_at(outlook_instant(closed_at, timeline.born_at)) or state
    return {
        "opportunity_id": timeline.opportunity_id,
        "won": won,
        "born_at": timeline.born_at,
        "closed_at": closed_at,
        "actual_close_date": state["actual_close_date"],
        "cycle_microseconds": (closed_at - timeline.born_at) // timedelta(microseconds=1),
        # Exact decimal text (the log's own, plain notation), as the totals keep sums.
        "closed_value": str(closed_value(won, state["actual_value"], state["estimated_value"])),
        "status_reason": state["status_reason"],
        "phases_reached": phases_text(timeline.phases_entered(closed_at)),
        "outlook_state": outlook["state"],
        "outlook_probability": outlook["probability"],
        "outlook_process_key": outlook["process_key"],
        "outlook_stage": outlook["active_stage"],
        "owner_id": encode(state["owner_id"]),
        "process_key": state["process_key"],
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
    """After the change log's rows of a flush are written: rewrite the rows of each
    opportunity they close or reopen, and of each ``closed`` after the flush one of whose
    :data:`FIELDS` they change; of each they touch, when they are backdated (imported
    history)."""
    touched = {
        row["opportunity_id"]
        for row in rows
        if backdated or _closes_or_reopens(row) or _changes_a_closed_deal(row, closed)
    }
    if touched:
        refresh(session, touched)


def closed_by(rows: Iterable[Mapping[str, Any]]) -> set[uuid.UUID]:
    """The opportunities that change-log rows close or reopen (whose closed deals' rows a
    writer around the ORM refreshes once it has loaded them)."""
    return {row["opportunity_id"] for row in rows if _closes_or_reopens(row)}


def _closes_or_reopens(row: Mapping[str, Any]) -> bool:
    closing = row["new_value"] in CLOSED_STATES or row["old_value"] in CLOSED_STATES
    return row["field"] == "state" and closing


def _changes_a_closed_deal(row: Mapping[str, Any], closed: Collection[uuid.UUID]) -> bool:
    # The services refuse such changes (a closed deal is read-only until reopened); a path
    # that did not would still leave the rows right.
    return row["field"] in FIELDS and row["opportunity_id"] in closed


SUMMARY = rewriting.Summary(ClosedDeal, FIELDS, rows_of, born=True)


def refresh(session: Session, ids: Collection[uuid.UUID]) -> None:
    """Rewrite the rows of these opportunities from their change log."""
    rewriting.refresh(session, SUMMARY, ids)


def rebuild(session: Session) -> None:
    """Rewrite every row from the change log (after a bulk load, or by the migration)."""
    rewriting.rebuild(session, SUMMARY, *ever_closed())
