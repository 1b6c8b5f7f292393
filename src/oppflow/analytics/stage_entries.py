"""When each opportunity entered its current stint, kept on its record (decision 0034).

``opportunities.stage_entered_at`` is the instant of its latest change of process, stage or
state in the change log (a reopen starts a new stint, and so does a close): what the stale
report of now measures ``days_in_stage`` from. The change log's hook stamps it in the same
UPDATE that writes the change, so it costs a move no statement; bulk loaders stamp their rows
from the changes they load; migration 0019 filled it, and :func:`rebuild` rewrites it from the
log (the tests' loader).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from oppflow.models import Opportunity, OpportunityChange

FIELDS = ("process_key", "active_stage", "state")
COLUMN = "stage_entered_at"


def stamp(opportunity: Opportunity, changed: Iterable[str], at: datetime) -> None:
    """Stamp ``opportunity`` entered at ``at`` when the flush changes one of :data:`FIELDS`
    (``changed``: the fields it logs), unless it entered later: a backdated change, or a
    host whose clock is behind another's, never moves the entry back."""
    if not any(field in FIELDS for field in changed):
        return
    state = instance_state(opportunity)
    kept = state.dict.get(COLUMN)
    if state.key is None:  # a new record: born at ``at``
        opportunity.stage_entered_at = at
    elif not isinstance(kept, datetime):
        # Expired, never read, or an expression of a flush that failed: the database
        # compares, in the UPDATE that writes the change.
        opportunity.stage_entered_at = _later_of_kept_and(at)
    elif kept < at:
        opportunity.stage_entered_at = at


def _later_of_kept_and(at: datetime) -> ColumnElement[datetime]:
    kept = Opportunity.stage_entered_at
    moment = literal(at, Opportunity.__table__.c[COLUMN].type)
    return case((kept > moment, kept), else_=moment)


def stamped(
    opportunities: list[dict[str, Any]], changes: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A bulk loader's opportunity rows, each with its entry read from its change rows."""
    entered: dict[uuid.UUID, datetime] = {}
    for change in changes:
        if change["field"] in FIELDS:
            key, at = change["opportunity_id"], change["effective_at"]
            if key not in entered or entered[key] < at:
                entered[key] = at
    for row in opportunities:
        row[COLUMN] = entered.get(row["id"])
    return opportunities


def rebuild(session: Session, *where: ColumnElement[bool]) -> None:
    """Rewrite the entry of every opportunity ``where`` keeps (all) from the change log."""
    log = OpportunityChange
    latest = (
        select(func.max(log.effective_at))
        .where(log.opportunity_id == Opportunity.id, log.field.in_(FIELDS))
        .scalar_subquery()
    )
    # modified_at set to itself: its onupdate would stamp every record modified now.
    kept = {"stage_entered_at": latest, "modified_at": Opportunity.modified_at}
    session.execute(
        update(Opportunity).where(*where).values(kept),
        execution_options={"synchronize_session": False},
    )
