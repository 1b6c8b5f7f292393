"""The change log, written in one place: a ``before_flush`` hook on every session.

Whatever path changes an opportunity (API, web page, CLI, lead qualification, closing,
reopening, the demo generator, imports), the flush that writes it also writes one
:class:`OpportunityChange` per tracked field that took a new value, in the same transaction.
So the log holds a change if and only if the change committed, and every report computed
from it is a pure function of it (ANALYTICS.md §1).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from oppflow.analytics import closed_deals, phase_moves, spans, stage_entries, stage_stints
from oppflow.analytics.outcomes import CLOSED_STATES
from oppflow.analytics.placement import Shift, shift_of
from oppflow.analytics.timeline import encode
from oppflow.clock import utcnow
from oppflow.models import Opportunity, OpportunityChange
from oppflow.models.base import new_id, set_since_load

TRACKED_FIELDS = (
    "process_key",
    "active_stage",
    "pipeline_phase",
    "state",
    "status_reason",
    "owner_id",
    "estimated_value",
    "estimated_close_date",
    "probability",
    "forecast_category",
    "actual_value",
    "actual_close_date",
)
_EFFECTIVE_AT = "changelog_effective_at"
_PENDING = "changelog_pending"
# The opportunities of the flush that are closed after it (won or lost).
_CLOSED = "changelog_closed"
# What the flush does to each opportunity's place in the pipeline (``placement.Shift``).
_SHIFTS = "changelog_shifts"


@contextmanager
def effective_at(session: Session, moment: datetime) -> Iterator[None]:
    """Record the changes flushed inside the block as true since ``moment`` (imported
    history); ``recorded_at`` stays the time oppflow learned them."""
    previous = session.info.get(_EFFECTIVE_AT)
    session.info[_EFFECTIVE_AT] = moment
    try:
        yield
        session.flush()
    finally:
        session.info[_EFFECTIVE_AT] = previous


def _created(opportunity: Opportunity) -> Iterator[tuple[str, Any, Any]]:
    for field in TRACKED_FIELDS:
        value = getattr(opportunity, field)
        if value is None:
            value = _column_default(opportunity, field)
        if value is not None:
            yield field, None, value


def _column_default(opportunity: Opportunity, field: str) -> Any:
    """A column's scalar default (state "open", forecast category "pipeline"), set now so the
    birth rows hold the values the INSERT will write."""
    default = Opportunity.__table__.c[field].default
    if default is None or not default.is_scalar:
        return None
    setattr(opportunity, field, default.arg)
    return default.arg


def _updated(opportunity: Opportunity) -> Iterator[tuple[str, Any, Any]]:
    for field, old, new in set_since_load(opportunity, TRACKED_FIELDS):
        if encode(old) != encode(new):
            yield field, old, new


def _rows(
    session: Session,
    opportunity: Opportunity,
    changes: list[tuple[str, Any, Any]],
    at: datetime,
) -> None:
    stage_entries.stamp(opportunity, (field for field, _, _ in changes), at)
    now = utcnow()
    pending: list[dict[str, Any]] = session.info[_PENDING]
    pending.extend(
        {
            "opportunity_id": opportunity.id,
            "field": field,
            "old_value": encode(old),
            "new_value": encode(new),
            "effective_at": at,
            "recorded_at": now,
            "actor_id": opportunity.modified_by_id,
        }
        for field, old, new in changes
    )


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    backdated = session.info.get(_EFFECTIVE_AT)
    session.info[_PENDING] = []  # rows of a flush that failed are never written
    shifts: dict[uuid.UUID, Shift] = {}
    for new in [obj for obj in session.new if isinstance(obj, Opportunity)]:
        if new.id is None:
            new.id = new_id()
        # The birth rows and the record's created_at are the same instant.
        new.created_at = backdated or new.created_at or utcnow()
        _rows(session, new, list(_created(new)), new.created_at)
        _note_shift(shifts, new, shift_of(new, new.created_at, new=True))
    dirty = [obj for obj in session.dirty if isinstance(obj, Opportunity)]
    for changed in dirty:
        at = backdated or utcnow()
        _note_shift(shifts, changed, shift_of(changed, at, new=False))
        _rows(session, changed, list(_updated(changed)), at)
    session.info[_SHIFTS] = shifts
    session.info[_CLOSED] = {
        found.id
        for found in (*session.new, *dirty)
        if getattr(found, "state", None) in CLOSED_STATES
    }


def _note_shift(
    shifts: dict[uuid.UUID, Shift], opportunity: Opportunity, shift: Shift | None
) -> None:
    if shift is not None:
        shifts[opportunity.id] = shift


def _after_flush(session: Session, _flush_context: Any) -> None:
    # Written after the flush's own statements, so a new opportunity's row exists before the
    # rows that refer to it; one multi-row INSERT, in the flush's transaction.
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.connection().execute(insert(OpportunityChange), pending)
        # The closed deals are read from these rows: rewritten after them, in this flush.
        backdated = session.info.get(_EFFECTIVE_AT) is not None
        closed = session.info.pop(_CLOSED, set())
        closed_deals.follow(session, pending, backdated=backdated, closed=closed)
        shifts = session.info.pop(_SHIFTS, {})
        stage_stints.follow(session, shifts, pending, backdated=backdated)
        phase_moves.follow(session, shifts, pending, backdated=backdated)
        created = {key for key, shift in shifts.items() if shift.new}
        spans.follow(session, pending, new=created, backdated=backdated)


def install() -> None:
    """Hook the change log into every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
