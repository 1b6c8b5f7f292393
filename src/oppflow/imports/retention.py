"""How long import jobs keep their files: a job finished (done or failed) more than
``OPPFLOW_FILE_RETENTION_DAYS`` ago, or left a draft that long, is deleted, and so are its
upload's and its report's contents in the file store, unless an opportunity's file or a job
still kept has the same bytes (the store is content-addressed, so one content may serve
several), or the same bytes were uploaded again in the last ``GRACE``: their job or file may
not be committed yet, so no query could see it. The worker runs it hourly; ``oppflow files
prune`` runs it at once.

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
from oppflow.models import ImportJob
from oppflow.related.repository import contents_attached
from oppflow.related.storage import FileStore, Removal

# Jobs deleted per transaction: SQLite's write lock is held for one batch at a time.
BATCH = 500
# Far longer than an upload takes to be recorded once its bytes are kept.
GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Pruned:
    jobs: int
    files: int


def prune(
    factory: sessionmaker[Session], store: FileStore, *, days: int, grace: timedelta = GRACE
) -> Pruned:
    """Delete the jobs finished (or drafts made) more than ``days`` ago (0: none), with the
    contents of their files and reports that nothing else refers to and that were not kept
    again within ``grace``, a batch at a time."""
    if days <= 0:
        return Pruned(0, 0)
    cutoff, pruned = utcnow() - timedelta(days=days), Pruned(0, 0)
    while True:
        batch = _prune_batch(factory, store, cutoff, utcnow() - grace)
        pruned = Pruned(pruned.jobs + batch.jobs, pruned.files + batch.files)
        if batch.jobs < BATCH:
            return pruned


def _prune_batch(
    factory: sessionmaker[Session], store: FileStore, cutoff: datetime, kept_since: datetime
) -> Pruned:
    # The contents go first and the jobs last: if the store fails, the jobs stay and the
    # next run tries again, rather than contents left that no job names any more. So does a
    # job whose content was uploaded again within the grace: the next run sees who names it.
    with unit_of_work(factory, read_only=True) as session:
        queue = JobQueue(session)
        expired = queue.expired(cutoff, BATCH)
        contents = {sha for job in expired for sha in _contents_of(job)}
        besides = [job.id for job in expired]
        used = queue.contents_in_use(contents, besides=besides) | contents_attached(
            session, contents
        )
    unused = sorted(contents - used)
    done = {sha: store.remove_unless_kept_since(sha, kept_since) for sha in unused}
    recent = {sha for sha, removal in done.items() if removal is Removal.KEPT_RECENTLY}
    ids = [job.id for job in expired if not recent.intersection(_contents_of(job))]
    if ids:
        with unit_of_work(factory) as session:
            JobQueue(session).delete_jobs(ids)
    return Pruned(len(ids), sum(removal is Removal.REMOVED for removal in done.values()))


def _contents_of(job: ImportJob) -> set[str]:
    return {sha for sha in (job.file_sha256, job.report_sha256) if sha}
