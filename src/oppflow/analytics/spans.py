"""The spans: each stretch of time over which an opportunity's reported fields all held the
same values, as its change log says, kept exact in the writer's transaction.

The snapshot funnel as of a past instant read eight fields of every opportunity perhaps
open then, each its own seek into the log (25 s at 1,000,000 opportunities on SQLite); kept
as spans, it reads the open spans that hold the instant, from one index (decision 0035). The
waterfall, the cohorts and the forecast as of an instant, and the filters of flow and time in
stage then, read them too (decision 0037). An opportunity's spans follow one another without
a gap, from its first change on.

The change log's flush hook calls :func:`follow` with the flush's log rows. Each opportunity
whose flush changed one of :data:`FIELDS` gets a new span from the flush's instant:

- the span that held until then is ended (an ``UPDATE`` that returns its values, which the
  new span keeps where the flush changed nothing) and the new one inserted; a new
  opportunity's first span is only inserted;
- a flush at or before the instant the ended span began (two flushes in one microsecond, as
  under the demo's simulated clock, or another host's clock behind), an opportunity with no
  span that still holds, and any backdated flush (imported history) rewrite the opportunity's
  spans from its log instead, since the log merges what happens at one instant;
- a change of any other field costs nothing here.

Writers around the ORM load :func:`rows_of_changes` of the change rows they load (the bulk
importer and the bulk demo generator) or call :func:`rebuild` (the tests' histories, the
upgrade across the migrations that made the table and gave it its last fields).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from oppflow.analytics import rewriting
from oppflow.analytics.funnels import SPAN_FIELDS
from oppflow.analytics.placement import timelines_of_changes
from oppflow.analytics.timeline import END_OF_TIME, Timeline, encode, microseconds
from oppflow.models import OpportunitySpan
from oppflow.models.analytics import OPEN_END

FIELDS = SPAN_FIELDS
_VALUES = [OpportunitySpan.__table__.c[field] for field in FIELDS]
# Built once, their values bound: building a statement and its cache key cost a move more
# than running it.
_END_HELD = (
    update(OpportunitySpan)
    .where(OpportunitySpan.opportunity_id == bindparam("held_of"))
    .where(OpportunitySpan.to_us == OPEN_END)
    .values(to_us=bindparam("ends"))
    .returning(OpportunitySpan.from_us, *_VALUES)
)
_START = insert(OpportunitySpan)


def rows_of(timeline: Timeline) -> list[dict[str, Any]]:
    """The span rows of a whole timeline (of :data:`FIELDS`' rows): one from each instant."""
    rows: list[dict[str, Any]] = []
    for at, _before, after in timeline.instants(END_OF_TIME):
        begins = microseconds(at)
        if rows:
            rows[-1]["to_us"] = begins
        values = {field: encode(after[field]) for field in FIELDS}
        rows.append(_row(timeline.opportunity_id, begins, values))
    return rows


def _row(opportunity_id: uuid.UUID, begins: int, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"opportunity_id": opportunity_id, "from_us": begins, "to_us": OPEN_END, **values}


SUMMARY = rewriting.Summary(OpportunitySpan, FIELDS, rows_of)


def rows_of_changes(changes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The span rows of change-log rows about to be loaded around the ORM."""
    return [row for timeline in timelines_of_changes(changes, FIELDS) for row in rows_of(timeline)]


def follow(
    session: Session,
    rows: Iterable[Mapping[str, Any]],
    *,
    new: Collection[uuid.UUID],
    backdated: bool,
) -> None:
    """After the change log's rows of a flush are written: start each changed opportunity's
    next span, or rewrite its spans from the log where that cannot be exact (see the module).
    ``new``: the opportunities the flush creates."""
    changed = _changes(rows)
    if backdated:
        refresh(session, changed)
        return
    from_log = [
        opportunity_id
        for opportunity_id, (at, values) in changed.items()
        if not _started(session, opportunity_id, at, values, new=opportunity_id in new)
    ]
    if from_log:
        refresh(session, from_log)


def _changes(rows: Iterable[Mapping[str, Any]]) -> dict[uuid.UUID, tuple[datetime, dict[str, Any]]]:
    """Each opportunity's flush instant and the new texts of its fields that changed."""
    found: dict[uuid.UUID, tuple[datetime, dict[str, Any]]] = {}
    wanted = set(FIELDS)
    for row in rows:
        if row["field"] in wanted:
            _at, values = found.setdefault(row["opportunity_id"], (row["effective_at"], {}))
            values[row["field"]] = row["new_value"]
    return found


def _started(
    session: Session, opportunity_id: uuid.UUID, at: datetime, values: dict[str, Any], *, new: bool
) -> bool:
    """End the span that holds and start the next at ``at``; False when the log must be read."""
    begins = microseconds(at)
    kept: dict[str, Any] = dict.fromkeys(FIELDS)
    if not new:
        ended = session.connection().execute(_END_HELD, {"held_of": opportunity_id, "ends": begins})
        held = ended.all()
        if len(held) != 1 or held[0][0] >= begins:
            return False  # begun at this instant or later (the log orders them), or not kept
        kept = dict(zip(FIELDS, held[0][1:], strict=True))
    row = _row(opportunity_id, begins, {**kept, **values})
    session.connection().execute(_START, row)
    return True


def refresh(session: Session, ids: Collection[uuid.UUID]) -> None:
    """Rewrite the rows of these opportunities from their change log."""
    rewriting.refresh(session, SUMMARY, ids)


def rebuild(session: Session) -> None:
    """Rewrite every row from the change log (after a bulk load, or by the migration)."""
    rewriting.rebuild(session, SUMMARY)
