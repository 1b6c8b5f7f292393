"""The stage stints: each stay of an open opportunity in one stage, as its change log says,
kept exact in the writer's transaction.

Time in stage asks which stints were entered in its period and how long each lasted. Read
from the change log, that is a fold of every such opportunity's history in Python (28 s at
1,000,000 opportunities); kept as rows, it reads a period's stints from one index.

The change log's flush hook calls :func:`follow` with what each opportunity's flush did to
its place (``placement.Shift``), from which :func:`move_of` reads the stage it stays in
before and after the flush (a :class:`Move`):

- a stage move ends the open stint (an ``UPDATE`` that returns when it began) and starts the
  next (an ``INSERT``); a close only ends it; a new opportunity with a stage only starts one;
- a flush at the same instant as the stint it ends began (two flushes in one microsecond, as
  under the demo's simulated clock), a reopen, a stage given to an open opportunity that had
  none, and any backdated flush (imported history) rewrite the opportunity's stints from its
  log instead, since the fold merges what happens at one instant;
- a change of any other field costs nothing here.

Writers around the ORM write their stints with :func:`rows_of_changes` (the bulk importer and
the bulk demo generator, from the change rows they load) or :func:`rebuild` (the tests'
histories, migration 0017).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from oppflow.analytics import rewriting
from oppflow.analytics.durations import STINT_FIELDS
from oppflow.analytics.placement import Place, Shift, timelines_of_changes
from oppflow.analytics.timeline import END_OF_TIME, Timeline, microseconds
from oppflow.models import StageStint

FIELDS = STINT_FIELDS

# Where an open opportunity stays: (process, stage); None when closed or without a stage.
Where = tuple[str | None, str] | None


class Move(NamedTuple):
    """What one flush did to the stage an opportunity stays in, at ``at``."""

    before: Where
    after: Where
    at: datetime
    new: bool


def where(state: Any, process_key: Any, stage: Any) -> Where:
    """The stage an opportunity with these values stays in, as :meth:`Timeline.stints` and
    time in stage see it: only while open, and only a named stage."""
    return (process_key, stage) if state == "open" and stage else None


def _where_of(place: Place) -> Where:
    return where(place.state, place.process_key, place.stage)


def move_of(shift: Shift) -> Move | None:
    """What ``shift`` does to the stage the opportunity stays in; None when nothing. An
    unknown earlier place makes a move that reads the log (see :func:`follow`)."""
    after = _where_of(shift.after)
    if shift.before is None:
        return None if shift.new and after is None else Move(None, after, shift.at, shift.new)
    before = _where_of(shift.before)
    return None if before == after else Move(before, after, shift.at, new=False)


def rows_of(timeline: Timeline) -> Iterator[dict[str, Any]]:
    """The stint rows of a whole timeline."""
    for stint in timeline.stints(END_OF_TIME):
        if stint.stage:
            yield {
                "opportunity_id": timeline.opportunity_id,
                "entered_us": microseconds(stint.start),
                "left_us": None if stint.end is None else microseconds(stint.end),
                "process_key": stint.process_key,
                "stage": stint.stage,
            }


SUMMARY = rewriting.Summary(StageStint, FIELDS, rows_of)


# Built once, their values bound: building a statement and its cache key cost a move more
# than running it.
_END_HELD = (
    update(StageStint)
    .where(StageStint.opportunity_id == bindparam("held_of"), StageStint.left_us.is_(None))
    .values(left_us=bindparam("left"))
    .returning(StageStint.entered_us)
)
_START = insert(StageStint)


def rows_of_changes(changes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The stint rows of change-log rows about to be loaded around the ORM."""
    return [row for timeline in timelines_of_changes(changes, FIELDS) for row in rows_of(timeline)]


def follow(
    session: Session,
    shifts: Mapping[uuid.UUID, Shift],
    rows: Iterable[Mapping[str, Any]],
    *,
    backdated: bool,
) -> None:
    """After the change log's rows of a flush are written: apply each opportunity's move, or
    rewrite its stints from the log where a move cannot say it exactly (see the module)."""
    if backdated:
        refresh(session, {row["opportunity_id"] for row in rows})
        return
    moves = {key: move for key, shift in shifts.items() if (move := move_of(shift)) is not None}
    from_log = [
        opportunity_id
        for opportunity_id, move in moves.items()
        if not _applied(session, opportunity_id, move)
    ]
    if from_log:
        refresh(session, from_log)


def _applied(session: Session, opportunity_id: uuid.UUID, move: Move) -> bool:
    """Apply ``move`` as an end and a start; False when the log must be read instead."""
    at = microseconds(move.at)
    if move.before is None and not move.new:
        return False  # a reopen, or a stage given: the stint may continue one ended at ``at``
    if move.before is not None:
        ended = session.connection().execute(_END_HELD, {"held_of": opportunity_id, "left": at})
        began = ended.scalars().all()
        if len(began) != 1 or began[0] >= at:
            return False  # begun at this instant (the fold merges the two), or not kept
    if move.after is not None:
        session.connection().execute(_START, _row(opportunity_id, move.after, at))
    return True


def _row(opportunity_id: uuid.UUID, stays: tuple[str | None, str], at: int) -> dict[str, Any]:
    process_key, stage = stays
    return {
        "opportunity_id": opportunity_id,
        "entered_us": at,
        "left_us": None,
        "process_key": process_key,
        "stage": stage,
    }


def refresh(session: Session, ids: Collection[uuid.UUID]) -> None:
    """Rewrite the rows of these opportunities from their change log."""
    rewriting.refresh(session, SUMMARY, ids)


def rebuild(session: Session) -> None:
    """Rewrite every row from the change log (after a bulk load, or by the migration)."""
    rewriting.rebuild(session, SUMMARY)
