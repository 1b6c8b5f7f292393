"""The reports over history at size: queries that read the change log narrowly (decision 0025).

Each query starts from the opportunities the caller may read, as ``repository.py``'s do. They
live apart from it so that the list and board queries there and these can change separately.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, case, func, or_, select

from oppflow.analytics.repository import StaleCutoffs, StaleRecord, perhaps_open_at
from oppflow.models import Note, Opportunity, OpportunityChange, OpportunityFile
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.scope import read_scope

STINT_FIELDS = ("process_key", "active_stage", "state")


class HistoryRepository(OpportunityRepository):
    def stale_at(
        self,
        moment: datetime,
        cutoffs: StaleCutoffs,
        limit: int,
        owners: Collection[uuid.UUID] | None = None,
        process: str | None = None,
    ) -> tuple[list[StaleRecord], int]:
        """The stale report at a past ``moment``, read from the change log: the readable
        opportunities open then, in their stage then since before its cutoff or idle since
        before it (no change, note or file by then); the most idle first, and how many."""
        found = _state_at(moment).where(
            read_scope(self.actor, Opportunity), *perhaps_open_at(moment)
        )
        then = found.subquery()
        stage = (then.c.process_key, then.c.active_stage)
        late = or_(*cutoffs.late(then.c.entered_at, stage), *cutoffs.late(then.c.active_at, stage))
        conditions: list[ColumnElement[bool]] = [then.c.state == "open", late]
        if owners is not None:
            conditions.append(then.c.owner_id.in_([str(owner) for owner in owners]))
        if process is not None:
            conditions.append(then.c.process_key == process)
        query = select(*then.c).where(*conditions)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = query.order_by(then.c.active_at, then.c.id).limit(limit)
        return [_stale_record(row) for row in self.session.execute(page)], total


def _state_at(moment: datetime) -> Select[Any]:
    """Each opportunity's stage, owner and state at ``moment``, when it entered that stint and
    when it was last active (a change, a note or a file) by then."""
    return select(
        Opportunity.id,
        Opportunity.name,
        _value_at("owner_id", moment).label("owner_id"),
        _value_at("process_key", moment).label("process_key"),
        _value_at("active_stage", moment).label("active_stage"),
        _value_at("pipeline_phase", moment).label("pipeline_phase"),
        _value_at("state", moment).label("state"),
        _last_change(moment, STINT_FIELDS).label("entered_at"),
        _last_activity_at(moment).label("active_at"),
    )


def _value_at(field: str, moment: datetime) -> ScalarSelect[Any]:
    """The field's value at ``moment``: its row with the greatest (effective_at, seq) by then."""
    log = OpportunityChange
    return (
        select(log.new_value)
        .where(log.opportunity_id == Opportunity.id, log.field == field, log.effective_at <= moment)
        .order_by(log.effective_at.desc(), log.seq.desc())
        .limit(1)
        .scalar_subquery()
    )


def _last_change(moment: datetime, fields: tuple[str, ...] | None = None) -> ScalarSelect[Any]:
    log = OpportunityChange
    query = select(func.max(log.effective_at)).where(
        log.opportunity_id == Opportunity.id, log.effective_at <= moment
    )
    if fields is not None:
        query = query.where(log.field.in_(fields))
    return query.scalar_subquery()


def _last_activity_at(moment: datetime) -> ColumnElement[datetime]:
    """The latest of the last change, the last note and the last file at or before ``moment``
    (the log stands for the record's own modification: it alone is dated)."""
    note = select(func.max(Note.at)).where(Note.opportunity_id == Opportunity.id, Note.at <= moment)
    file = select(func.max(OpportunityFile.created_at)).where(
        OpportunityFile.opportunity_id == Opportunity.id, OpportunityFile.created_at <= moment
    )
    return func.coalesce(
        _greatest(_last_change(moment), note.scalar_subquery(), file.scalar_subquery()),
        Opportunity.created_at,
    )


def _greatest(*values: Any) -> ColumnElement[datetime]:
    # As repository._greatest, but the first value may be NULL too (no change by then).
    first, *others = values
    found: ColumnElement[datetime] = first
    for other in others:
        found = case(
            (found.is_(None), other), (other.is_not(None) & (other > found), other), else_=found
        )
    return found


def _stale_record(row: Any) -> StaleRecord:
    return StaleRecord(
        opportunity_id=row.id,
        name=row.name,
        owner_id=uuid.UUID(row.owner_id),
        process_key=row.process_key,
        active_stage=row.active_stage,
        pipeline_phase=row.pipeline_phase,
        entered_stage_at=row.entered_at,
        last_activity_at=row.active_at,
    )
