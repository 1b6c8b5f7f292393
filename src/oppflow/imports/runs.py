"""Import runs: what ``--resume`` needs to carry on after a crash or a kill. A run's progress
(last committed row, counts) is written in each batch's own transaction, so it names exactly
the rows that are in the database, whenever the importer died."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from oppflow.clock import utcnow
from oppflow.errors import Conflict
from oppflow.imports.run_repository import RunRepository
from oppflow.imports.service import Checkpoint, ImportResult
from oppflow.models import ImportRun
from oppflow.related.storage import sha256_of
from oppflow.security.actor import Actor


def begin(session: Session, actor: Actor, table: str, path: Path, *, resume: bool) -> ImportRun:
    """The run to import ``path`` into: the unfinished one when resuming (else a new one; a
    kill before the first batch committed left none), a new one otherwise."""
    sha256 = sha256_of(path)
    runs = RunRepository(session, actor.user_id)
    unfinished = runs.latest(table, sha256, "running")
    if resume and unfinished is not None:
        return unfinished
    if resume and runs.latest(table, sha256, "done") is not None:
        raise Conflict(f"Nothing to resume: this file was imported into {table} completely.")
    if unfinished is not None:
        # Imported again from the start: the older run will never be resumed.
        unfinished.status = "abandoned"
    run = ImportRun(user_id=actor.user_id, table=table, file_name=path.name[:200])
    run.file_sha256 = sha256
    return runs.add(run)


@dataclass(frozen=True)
class Tally:
    """A run's counts before this process took it up (zero for a new run)."""

    created: int
    existing: int
    refused: int


def checkpoint(run: ImportRun) -> Checkpoint:
    """Record the run's progress in the batch's transaction, before it commits."""
    before = Tally(run.created, run.existing, run.refused)

    def record(session: Session, last_row: int, result: ImportResult) -> None:
        run.rows_done = last_row
        run.created = before.created + result.created
        run.existing = before.existing + result.existing
        run.refused = before.refused + result.refused
        run.updated_at = utcnow()
        session.add(run)

    return record


def finish(session: Session, run: ImportRun) -> None:
    run.status, run.finished_at = "done", utcnow()
    session.add(run)
    session.flush()
