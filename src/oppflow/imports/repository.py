"""Every query on saved import mappings and import jobs. A user reads their own; a system
administrator reads everyone's; another's answers 404, as any record out of reach."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from oppflow.errors import NotFound
from oppflow.models import Account, Contact, ImportJob, ImportMapping, Lead, Opportunity
from oppflow.security.actor import Actor

Owned = TypeVar("Owned", ImportMapping, ImportJob)
Imported = type[Account] | type[Contact] | type[Lead] | type[Opportunity]


def already_there(session: Session, model: Imported, names: Sequence[str]) -> set[str]:
    """Those of ``names`` (a file's external ids) that name a record of ``model`` already,
    whoever may read it: by its external id, or by its id, when the file is an export of
    this database (an exported ``id`` is read as the external id: decision 0021)."""
    if not names:
        return set()
    ids = {parsed: name for name in names if (parsed := _uuid_or_none(name)) is not None}
    query = select(model.id, model.external_id).where(
        or_(model.external_id.in_(names), model.id.in_(list(ids)))
    )
    found: set[str | None] = set()
    for record_id, external_id in session.execute(query):
        found |= {external_id, ids.get(record_id)}
    return {name for name in names if name in found}


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class ImportRepository:
    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def _readable(self, model: type[Owned]) -> Select[Owned]:
        query = select(model)
        if not self.actor.is_admin:
            query = query.where(model.owner_id == self.actor.user_id)
        return query

    def mappings(self, table: str | None = None) -> list[ImportMapping]:
        query = self._readable(ImportMapping).order_by(ImportMapping.name, ImportMapping.id)
        if table is not None:
            query = query.where(ImportMapping.table == table)
        return list(self.session.scalars(query))

    def mapping(self, mapping_id: uuid.UUID) -> ImportMapping:
        query = self._readable(ImportMapping).where(ImportMapping.id == mapping_id)
        return _found(self.session.scalar(query), f"No import mapping {mapping_id}.")

    def own_mapping_named(self, name: str) -> ImportMapping | None:
        query = select(ImportMapping).where(
            ImportMapping.owner_id == self.actor.user_id, ImportMapping.name == name
        )
        return self.session.scalar(query)

    def jobs(self, limit: int) -> list[ImportJob]:
        query = self._readable(ImportJob).order_by(ImportJob.created_at.desc(), ImportJob.id)
        return list(self.session.scalars(query.limit(limit)))

    def job(self, job_id: uuid.UUID) -> ImportJob:
        query = self._readable(ImportJob).where(ImportJob.id == job_id)
        return _found(self.session.scalar(query), f"No import job {job_id}.")

    def add(self, record: Any) -> None:
        self.session.add(record)
        self.session.flush()

    def delete(self, record: Any) -> None:
        self.session.delete(record)
        self.session.flush()


def _found(record: Owned | None, message: str) -> Owned:
    if record is None:
        raise NotFound(message)
    return record


class JobQueue:
    """The worker's side: no caller, so no row-level security; claims skip locked rows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def next_queued(self) -> ImportJob | None:
        """The oldest queued job, locked for this transaction; on PostgreSQL one another
        worker holds is skipped (SQLite's writer already holds the database's write lock)."""
        query = select(ImportJob).where(ImportJob.status == "queued")
        query = query.order_by(ImportJob.created_at, ImportJob.id).limit(1)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self.session.scalar(query)

    def get(self, job_id: uuid.UUID) -> ImportJob:
        return _found(self.session.get(ImportJob, job_id), f"No import job {job_id}.")

    def set(self, job_id: uuid.UUID, **values: Any) -> None:
        self.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))

    def expired(self, cutoff: datetime, limit: int) -> list[ImportJob]:
        """Up to ``limit`` jobs done or failed before ``cutoff``, or left a draft (uploaded,
        never started) since before it, the oldest first."""
        ended = ImportJob.status.in_(("done", "failed")) & (ImportJob.finished_at < cutoff)
        abandoned = (ImportJob.status == "draft") & (ImportJob.created_at < cutoff)
        query = select(ImportJob).where(or_(ended, abandoned))
        at = func.coalesce(ImportJob.finished_at, ImportJob.created_at)
        return list(self.session.scalars(query.order_by(at, ImportJob.id).limit(limit)))

    def delete_jobs(self, job_ids: Collection[uuid.UUID]) -> None:
        self.session.execute(delete(ImportJob).where(ImportJob.id.in_(list(job_ids))))

    def contents_in_use(
        self, contents: Collection[str], *, besides: Collection[uuid.UUID] = ()
    ) -> frozenset[str]:
        """Those of ``contents`` that a job other than ``besides`` refers to, as its upload or
        its report."""
        if not contents:
            return frozenset()
        query = select(ImportJob.file_sha256, ImportJob.report_sha256).where(
            or_(ImportJob.file_sha256.in_(contents), ImportJob.report_sha256.in_(contents)),
            ImportJob.id.not_in(list(besides)),
        )
        found = frozenset(sha for row in self.session.execute(query) for sha in row if sha)
        return found.intersection(contents)

    def fail_abandoned(self, now: datetime, why: str) -> int:
        """Mark failed the running jobs whose worker stopped renewing their lease."""
        stale = (ImportJob.status == "running") & or_(
            ImportJob.lease_until.is_(None), ImportJob.lease_until < now
        )
        statement = update(ImportJob).where(stale)
        result = self.session.execute(
            statement.values(status="failed", error=why, finished_at=now, lease_until=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)
