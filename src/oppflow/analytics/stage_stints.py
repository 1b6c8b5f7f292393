"""The stage stints: each stay of an open opportunity in one stage, as its change log says,
kept exact in the writer's transaction.

Time in stage asks which stints were entered in its period and how long each lasted. Read
from the change log, that is a fold of every such opportunity's history in Python (28 s at
1,000,000 opportunities); kept as rows, it reads a period's stints from one index.

The change log's flush hook calls :func:`follow` with what each opportunity's flush did to
the stage it stays in (a :class:`Move`, from the values before and after the flush):

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
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, inspect, select, update
from sqlalchemy.orm import Session

from oppflow.analytics.durations import STINT_FIELDS
from oppflow.analytics.history_repository import read_timelines
from oppflow.analytics.timeline import Change, Timeline, decode, microseconds
from oppflow.models import Opportunity, StageStint
from oppflow.models.base import set_since_load

FIELDS = STINT_FIELDS
BATCH = 500
INSERT_BATCH = 10_000
_END = datetime.max.replace(tzinfo=UTC)

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


def move_of(record: Opportunity, at: datetime, *, new: bool) -> Move | None:
    """What the flush about to run does to the stage ``record`` stays in; None when nothing.
    Read from the values loaded, never from the database: a value not loaded makes a move
    that reads the log (see :func:`follow`)."""
    values = inspect(record).dict
    if new:
        after = where(values.get("state"), values.get("process_key"), values.get("active_stage"))
        return None if after is None else Move(None, after, at, new=True)
    old = {field: value for field, value, _ in set_since_load(record, FIELDS)}
    if not old:
        return None
    if any(field not in values for field in FIELDS):
        return Move(None, None, at, new=False)

    def then(field: str) -> Any:
        return old[field] if field in old else values[field]

    before = where(then("state"), then("process_key"), then("active_stage"))
    after = where(values["state"], values["process_key"], values["active_stage"])
    return None if before == after else Move(before, after, at, new=False)


def rows_of(timeline: Timeline) -> Iterator[dict[str, Any]]:
    """The stint rows of a whole timeline."""
    for stint in timeline.stints(_END):
        if stint.stage:
            yield {
                "opportunity_id": timeline.opportunity_id,
                "entered_us": microseconds(stint.start),
                "left_us": None if stint.end is None else microseconds(stint.end),
                "process_key": stint.process_key,
                "stage": stint.stage,
            }


def rows_of_changes(changes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The stint rows of change-log rows about to be loaded around the ORM (each
    opportunity's rows in the order they will be written), folded as the log will be read."""
    by_opportunity: dict[uuid.UUID, list[Change]] = defaultdict(list)
    for row in changes:
        if row["field"] in FIELDS:
            value = decode(row["field"], row["new_value"])
            change = Change(row["field"], value, row["effective_at"], row["recorded_at"])
            by_opportunity[row["opportunity_id"]].append(change)
    found: list[dict[str, Any]] = []
    for opportunity_id, logged in by_opportunity.items():
        ordered = sorted(logged, key=lambda change: change.at)  # stable: writing order kept
        found.extend(rows_of(Timeline(opportunity_id, ordered)))
    return found


def follow(
    session: Session,
    moves: Mapping[uuid.UUID, Move],
    rows: Iterable[Mapping[str, Any]],
    *,
    backdated: bool,
) -> None:
    """After the change log's rows of a flush are written: apply each opportunity's move, or
    rewrite its stints from the log where a move cannot say it exactly (see the module)."""
    if backdated:
        refresh(session, {row["opportunity_id"] for row in rows})
        return
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
        ended = session.connection().execute(
            update(StageStint)
            .where(StageStint.opportunity_id == opportunity_id, StageStint.left_us.is_(None))
            .values(left_us=at)
            .returning(StageStint.entered_us)
        )
        began = ended.scalars().all()
        if len(began) != 1 or began[0] >= at:
            return False  # begun at this instant (the fold merges the two), or not kept
    if move.after is not None:
        session.connection().execute(insert(StageStint), [_row(opportunity_id, move.after, at)])
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
    """Rewrite the stints of these opportunities from their change log."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        gone = delete(StageStint).where(StageStint.opportunity_id.in_(batch))
        session.connection().execute(gone)
        wanted = select(Opportunity.id).where(Opportunity.id.in_(batch))
        _insert(session, _rows_read(session, wanted))


def rebuild(session: Session) -> None:
    """Rewrite every stint from the change log (after a bulk load, or by the migration)."""
    session.connection().execute(delete(StageStint))
    rows: list[dict[str, Any]] = []
    for row in _rows_read(session, select(Opportunity.id)):
        rows.append(row)
        if len(rows) >= INSERT_BATCH:
            _insert(session, rows)
            rows = []
    _insert(session, rows)


def _rows_read(session: Session, wanted: Any) -> Iterator[dict[str, Any]]:
    for timeline in read_timelines(session.connection(), wanted, FIELDS):
        yield from rows_of(timeline)


def _insert(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    found = list(rows)
    if found:
        session.connection().execute(insert(StageStint), found)
