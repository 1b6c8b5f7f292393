"""Rewriting a summary kept from the change log (closed deals, stage stints, phase moves)
from the log itself: for some opportunities in the writer's transaction, or for all of them
after a bulk load and by the migration that made the table."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.orm import Session

from oppflow.analytics.history_repository import read_timelines
from oppflow.analytics.timeline import Timeline
from oppflow.models import Opportunity

BATCH = 500
INSERT_BATCH = 10_000


@dataclass(frozen=True)
class Summary:
    """A summary table, the log fields its rows are made from, and how a timeline makes them
    (``born``: the timelines also need each opportunity's first instant)."""

    model: Any
    fields: tuple[str, ...]
    rows_of: Callable[[Timeline], Iterable[dict[str, Any]]]
    born: bool = False


def refresh(session: Session, summary: Summary, ids: Collection[uuid.UUID]) -> None:
    """Rewrite the rows of these opportunities from their change log."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        gone = delete(summary.model).where(summary.model.opportunity_id.in_(batch))
        session.connection().execute(gone)
        _insert(session, summary, list(_rows_read(session, summary, [Opportunity.id.in_(batch)])))


def rebuild(session: Session, summary: Summary, *where: ColumnElement[bool]) -> None:
    """Rewrite every row from the change log, of the opportunities ``where`` keeps (all)."""
    session.connection().execute(delete(summary.model))
    rows: list[dict[str, Any]] = []
    for row in _rows_read(session, summary, list(where)):
        rows.append(row)
        if len(rows) >= INSERT_BATCH:
            _insert(session, summary, rows)
            rows = []
    _insert(session, summary, rows)


def _rows_read(
    session: Session, summary: Summary, where: list[ColumnElement[bool]]
) -> Iterator[dict[str, Any]]:
    wanted = select(Opportunity.id).where(*where)
    connection = session.connection()
    for timeline in read_timelines(connection, wanted, summary.fields, born=summary.born):
        yield from summary.rows_of(timeline)


def _insert(session: Session, summary: Summary, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(summary.model), rows)
