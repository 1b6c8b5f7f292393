"""How long import jobs keep their files: a job finished (done or failed) more than
``OPPFLOW_FILE_RETENTION_DAYS`` ago is deleted, and so are its upload's and its report's
contents in the file store, unless an opportunity's file or a job still kept has the same
bytes (the store is content-addressed, so one content may serve several). The worker runs it
hourly; ``oppflow files prune`` runs it at once.

Like the runner, it opens its own units of work, a batch of jobs at a time: it reads the
expired jobs and which of their contents nothing else refers to, removes those contents, then
deletes the jobs in a short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import utcnow
from oppflow.db import unit_of_work
from oppflow.imports.repository import JobQueue
from oppflow.related.repository import contents_attached
from oppflow.related.storage import FileStore

# Jobs deleted per transaction: SQLite's write lock is held for one batch at a time.
BATCH = 500


@dataclass(frozen=True)
class Pruned:
    jobs: int
    files: int


def prune(factory: sessionmaker[Session], store: FileStore, *, days: int) -> Pruned:
    """Delete the jobs finished more than ``days`` ago (0: none), with the contents of their
    files and reports that nothing else refers to, a batch at a time."""
    if days <= 0:
        return Pruned(0, 0)
    cutoff, pruned = utcnow() - timedelta(days=days), Pruned(0, 0)
    while True:
        batch = _prune_batch(factory, store, cutoff)
        pruned = Pruned(pruned.jobs + batch.jobs, pruned.files + batch.files)
        if batch.jobs < BATCH:
            return pruned


def _prune_batch(factory: sessionmaker[Session], store: FileStore, cutoff: datetime) -> Pruned:
    # The contents go first and the jobs last: if the store fails, the jobs stay and the
    # next run tries again, rather than contents left that no job names any more.
    with unit_of_work(factory, read_only=True) as session:
        queue = JobQueue(session)
        expired = queue.finished_before(cutoff, BATCH)
        ids = [job.id for job in expired]
        contents = {sha for job in expired for sha in (job.file_sha256, job.report_sha256) if sha}
        used = queue.contents_in_use(contents, besides=ids) | contents_attached(session, contents)
    unused = sorted(contents - used)
    for sha256 in unused:
        store.remove(sha256)
    if ids:
        with unit_of_work(factory) as session:
            JobQueue(session).delete_jobs(ids)
    return Pruned(len(ids), len(unused))
