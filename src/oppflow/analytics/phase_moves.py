"""The phase moves: each entry of an open opportunity into a pipeline phase and each exit from
one, as its change log says, kept exact in the writer's transaction.

Flow counts the entries and exits dated in its period. Read from the change log, that is a
fold of the history of every opportunity that changed in the period; kept as rows, it is one
``GROUP BY`` over the period's rows of one index.

The change log's flush hook calls :func:`follow` with what each opportunity's flush did to its
place (``placement.Shift``): a move to another phase writes its exit and its entry in one
``INSERT``, a close its exit, a reopen or a new opportunity its entry; a move within a phase
and a change of any other field write nothing. The fold merges what happens at one instant
and orders by instant, so an opportunity that already has a move at the flush's instant or
later (two flushes in one microsecond, or another host's clock ahead: the insert then writes
nothing), a reopen, one whose earlier place is unknown, and any backdated flush (imported
history) get their moves rewritten from the log instead.

Writers around the ORM load :func:`rows_of_changes` of the change rows they load (the bulk
importer and the bulk demo generator) or call :func:`rebuild` (the tests' histories,
migration 0018).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, exists, insert, select, union_all
from sqlalchemy.orm import Session

from oppflow.analytics import rewriting
from oppflow.analytics.funnels import FLOW_FIELDS
from oppflow.analytics.placement import Place, Shift, timelines_of_changes
from oppflow.analytics.timeline import (
    END_OF_TIME,
    PhaseEntry,
    Timeline,
    exit_kind,
    microseconds,
)
from oppflow.models import PhaseMove

FIELDS = FLOW_FIELDS
COLUMNS = ("opportunity_id", "at_us", "phase", "move", "reopened")


def phase_in(place: Place) -> Any:
    """The phase an opportunity in ``place`` is in, as :meth:`Timeline.phase_moves` sees it:
    only while open."""
    return place.phase if place.state == "open" else None


def rows_of(timeline: Timeline) -> Iterator[dict[str, Any]]:
    """The move rows of a whole timeline."""
    for move in timeline.phase_moves(END_OF_TIME):
        at = microseconds(move.at)
        if isinstance(move, PhaseEntry):
            yield _row(timeline.opportunity_id, at, move.phase, "entry", reopened=move.reopened)
        else:
            yield _row(timeline.opportunity_id, at, move.phase, move.to, reopened=False)


def _row(
    opportunity_id: uuid.UUID, at: int, phase: str, move: str, *, reopened: bool
) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity_id,
        "at_us": at,
        "phase": phase,
        "move": move,
        "reopened": reopened,
    }


SUMMARY = rewriting.Summary(PhaseMove, FIELDS, rows_of)


def rows_of_changes(changes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The move rows of change-log rows about to be loaded around the ORM."""
    return [row for timeline in timelines_of_changes(changes, FIELDS) for row in rows_of(timeline)]


def follow(
    session: Session,
    shifts: Mapping[uuid.UUID, Shift],
    rows: Iterable[Mapping[str, Any]],
    *,
    backdated: bool,
) -> None:
    """After the change log's rows of a flush are written: write each opportunity's moves, or
    rewrite them from the log where the flush cannot say them exactly (see the module)."""
    if backdated:
        refresh(session, {row["opportunity_id"] for row in rows})
        return
    from_log = [key for key, shift in shifts.items() if not _applied(session, key, shift)]
    if from_log:
        refresh(session, from_log)


def _applied(session: Session, opportunity_id: uuid.UUID, shift: Shift) -> bool:
    """Write the moves of ``shift``; False when the log must be read instead."""
    if shift.before is None and not shift.new:
        return False
    moves = _moves(opportunity_id, shift)
    if not moves:
        return True
    values = {f"{c}_{n}": move[c] for n, move in enumerate(moves) for c in COLUMNS}
    values |= {"later_of": opportunity_id, "later_from": moves[0]["at_us"]}
    written = session.connection().execute(_insert_if_last(len(moves)), values).all()
    return len(written) == len(moves)


def _moves(opportunity_id: uuid.UUID, shift: Shift) -> list[dict[str, Any]]:
    was = None if shift.before is None else phase_in(shift.before)
    now = phase_in(shift.after)
    if was == now:
        return []
    at = microseconds(shift.at)
    found = []
    if was is not None:
        move = exit_kind(was, now, shift.after.state)
        found.append(_row(opportunity_id, at, was, move, reopened=False))
    if now is not None:
        before = None if shift.before is None else shift.before.state
        reopened = before is not None and before != "open"
        found.append(_row(opportunity_id, at, now, "entry", reopened=reopened))
    return found


@cache
def _insert_if_last(count: int) -> Insert:
    """One INSERT of ``count`` moves that writes nothing when the opportunity already has a
    move at their instant or later: another flush in the same microsecond (whose moves the
    fold merges with these), or one from a host whose clock ran ahead (which the fold orders
    after these). The rows it returns say which happened. Built once per count, its values
    bound (``{column}_{n}``, ``later_of``, ``later_from``): building it and its cache key
    cost a move more than running it."""
    table = PhaseMove.__table__
    rows = [
        select(*(bindparam(f"{c}_{n}", type_=table.c[c].type).label(c) for c in COLUMNS))
        for n in range(count)
    ]
    source = (union_all(*rows) if count > 1 else rows[0]).subquery()
    later = exists().where(
        PhaseMove.opportunity_id == bindparam("later_of"),
        PhaseMove.at_us >= bindparam("later_from"),
    )
    chosen = select(*(source.c[c] for c in COLUMNS)).where(~later)
    return insert(PhaseMove).from_select(COLUMNS, chosen).returning(PhaseMove.at_us)


def refresh(session: Session, ids: Collection[uuid.UUID]) -> None:
    """Rewrite the rows of these opportunities from their change log."""
    rewriting.refresh(session, SUMMARY, ids)


def rebuild(session: Session) -> None:
    """Rewrite every row from the change log (after a bulk load, or by the migration)."""
    rewriting.rebuild(session, SUMMARY)
