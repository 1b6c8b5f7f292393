"""The worker's side of import jobs: claim the oldest queued job, run it as its owner through
the importer the CLI would choose for its file (the batch path for large files of
opportunities, else ``import_rows``; batches committed as they go), report progress per batch,
then record the counts and the report, or why it failed.

Each step is a short unit of work of its own, apart from the import's: progress is written
between two batches, when the import holds no transaction, so it is seen at once (and kept by a
dry run, whose batches roll back). On PostgreSQL a claim skips a job another worker holds.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.orm import Session, sessionmaker

from oppflow import audit
from oppflow.clock import utcnow
from oppflow.db import unit_of_work
from oppflow.errors import OppflowError
from oppflow.imports.bulk import importer_for
from oppflow.imports.reading import UnreadableFile, read_rows
from oppflow.imports.report import RowProblem, problem_writer
from oppflow.imports.repository import JobQueue
from oppflow.imports.service import ImportResult
from oppflow.models import User
from oppflow.related.storage import NO_LIMIT, FileStore, default_store
from oppflow.security.service import actor_for

log = logging.getLogger("oppflow.imports")
# A batch of rows takes far less; a job whose lease runs out had a worker that stopped.
LEASE = timedelta(minutes=10)
ABANDONED = "The worker stopped before the import ended; start the import again."
UNEXPECTED = "An unexpected error stopped the import; the server log says more."


class JobFailed(Exception):
    """Why a job cannot go on, in words for its owner."""


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    owner_id: uuid.UUID
    table: str
    file_sha256: str
    mapping: dict[str, str]
    dry_run: bool


def run_next(factory: sessionmaker[Session], store: FileStore | None = None) -> bool:
    """Run the oldest queued import job to its end; False when none was waiting."""
    claimed = claim(factory)
    if claimed is None:
        return False
    try:
        run(factory, claimed, store or default_store())
    except Exception as error:  # the job fails, the worker goes on with the next one
        why = str(error) if isinstance(error, JobFailed | OppflowError) else UNEXPECTED
        if not isinstance(error, JobFailed | OppflowError):
            log.exception("import job %s failed", claimed.id)
        _set(factory, claimed.id, status="failed", error=why[:500], finished_at=utcnow())
    return True


def claim(factory: sessionmaker[Session]) -> Claimed | None:
    """Mark the oldest queued job running (and the abandoned ones failed)."""
    with unit_of_work(factory) as session:
        now = utcnow()
        queue = JobQueue(session)
        queue.fail_abandoned(now, ABANDONED)
        job = queue.next_queued()
        if job is None:
            return None
        job.status, job.started_at, job.lease_until = "running", now, now + LEASE
        return Claimed(
            job.id, job.owner_id, job.table, job.file_sha256, dict(job.mapping), job.dry_run
        )


def run(factory: sessionmaker[Session], claimed: Claimed, store: FileStore) -> None:
    path = store.open_path(claimed.file_sha256)
    _set(factory, claimed.id, rows_total=_count(path), lease_until=utcnow() + LEASE)
    # The problems go to a temporary file as they are found, never all held in memory.
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as text:
        result = _import(factory, claimed, path, problem_writer(text))
        report = _keep_report(text, store)
    _set(
        factory,
        claimed.id,
        status="done",
        created=result.created,
        existing=result.existing,
        refused=result.refused,
        report_sha256=report,
        finished_at=utcnow(),
        lease_until=None,
    )


def _import(
    factory: sessionmaker[Session],
    claimed: Claimed,
    path: Path,
    on_problem: Callable[[RowProblem], None],
) -> ImportResult:
    done = 0
    importer, batch_size = importer_for(claimed.table, path.stat().st_size)

    def progress(number: int) -> None:
        nonlocal done
        done = number
        # Between two batches: the import's session has just committed (or rolled back).
        if number % batch_size == 0:
            _set(factory, claimed.id, rows_done=number, lease_until=utcnow() + LEASE)

    with unit_of_work(factory) as session:
        actor = actor_for(_owner(session, claimed.owner_id))
        audit.attribute(session, actor.user_id, actor.business_unit_id, "import")
        _headers, rows = _rows(path)
        result = importer(
            session,
            actor,
            rows,
            claimed.mapping,
            dry_run=claimed.dry_run,
            on_row=progress,
            batch_size=batch_size,
            on_problem=on_problem,
        )
    _set(factory, claimed.id, rows_done=done)
    return result


def _owner(session: Session, owner_id: uuid.UUID) -> User:
    user = session.get(User, owner_id)
    if user is None or not user.is_active:
        raise JobFailed("The user who started this import is no longer active.")
    return user


def _rows(path: Path) -> tuple[list[str], Any]:
    try:
        return read_rows(path)
    except UnreadableFile as error:
        raise JobFailed(f"The file cannot be read: {error}.") from None


def _count(path: Path) -> int:
    """The number of data rows, read as a stream (memory stays bounded)."""
    _headers, rows = _rows(path)
    return sum(1 for _row in rows)


def _keep_report(text: TextIO, store: FileStore) -> str:
    """Copy the report written to ``text`` into the file store; its SHA-256."""
    writer = store.writer(NO_LIMIT)
    try:
        text.seek(0)
        while chunk := text.read(64 * 1024):
            writer.write(chunk.encode("utf-8"))
        blob = writer.finish()
    except BaseException:
        writer.discard()
        raise
    store.keep(blob)
    return blob.sha256


def _set(factory: sessionmaker[Session], job_id: uuid.UUID, **values: Any) -> None:
    with unit_of_work(factory) as session:
        JobQueue(session).set(job_id, **values)
