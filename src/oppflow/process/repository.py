"""Queries on processes, their versions, instances and the stage history."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from oppflow.errors import NotFound
from oppflow.models import Process, ProcessInstance, ProcessVersion, StageHistory

# Built once, its table bound: every create reads it.
_FIRST_ACTIVE = (
    select(Process)
    .where(Process.primary_table == bindparam("table"), Process.is_active.is_(True))
    .order_by(Process.display_order, Process.key)
    .limit(1)
)


class ProcessRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_key(self, key: str) -> Process:
        process = self.find_by_key(key)
        if process is None:
            raise NotFound(f"No process {key!r}.")
        return process

    def find_by_key(self, key: str) -> Process | None:
        return self.session.scalar(select(Process).where(Process.key == key))

    def by_id(self, process_id: uuid.UUID) -> Process:
        process = self.session.get(Process, process_id)
        if process is None:
            raise NotFound(f"No process {process_id}.")
        return process

    def list(self, *, table: str | None = None, active_only: bool = False) -> list[Process]:
        query = select(Process).order_by(Process.display_order, Process.key)
        if table:
            query = query.where(Process.primary_table == table)
        if active_only:
            query = query.where(Process.is_active.is_(True))
        return list(self.session.scalars(query))

    def first_active(self, table: str) -> Process | None:
        """The first active process of ``table`` in display order (a create's default)."""
        return self.session.scalar(_FIRST_ACTIVE, {"table": table})

    def count_active(self, table: str) -> int:
        query = select(func.count()).where(
            Process.primary_table == table, Process.is_active.is_(True)
        )
        return self.session.scalar(query) or 0

    def version(self, process_id: uuid.UUID, version: int) -> ProcessVersion:
        found = self.session.get(ProcessVersion, (process_id, version))
        if found is None:
            raise NotFound(f"No version {version} of process {process_id}.")
        return found

    def add(self, record: Process | ProcessVersion) -> None:
        self.session.add(record)
        self.session.flush()


class InstanceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_opportunity(self, opportunity_id: uuid.UUID) -> list[ProcessInstance]:
        """Every instance of the record, the most recently used first."""
        query = (
            select(ProcessInstance)
            .where(ProcessInstance.opportunity_id == opportunity_id)
            .order_by(ProcessInstance.last_used_at.desc())
        )
        return list(self.session.scalars(query))

    def for_lead(self, lead_id: uuid.UUID) -> list[ProcessInstance]:
        """Every instance started on the lead, the most recently used first."""
        query = (
            select(ProcessInstance)
            .where(ProcessInstance.lead_id == lead_id)
            .order_by(ProcessInstance.last_used_at.desc())
        )
        return list(self.session.scalars(query))

    def find(self, process_id: uuid.UUID, opportunity_id: uuid.UUID) -> ProcessInstance | None:
        query = select(ProcessInstance).where(
            ProcessInstance.process_id == process_id,
            ProcessInstance.opportunity_id == opportunity_id,
        )
        return self.session.scalar(query)

    def add(self, instance: ProcessInstance) -> ProcessInstance:
        self.session.add(instance)
        return instance


class HistoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, row: StageHistory) -> None:
        self.session.add(row)

    def for_opportunity(self, opportunity_id: uuid.UUID) -> list[StageHistory]:
        query = (
            select(StageHistory)
            .where(StageHistory.opportunity_id == opportunity_id)
            .order_by(StageHistory.seq)
        )
        return list(self.session.scalars(query))

    def has_change(self, opportunity_id: uuid.UUID, to_stage: str, at: datetime) -> bool:
        """Whether a change into ``to_stage`` dated ``at`` is recorded (imported history)."""
        query = select(StageHistory.seq).where(
            StageHistory.opportunity_id == opportunity_id,
            StageHistory.to_stage == to_stage,
            StageHistory.at == at,
        )
        return self.session.scalar(query.limit(1)) is not None
