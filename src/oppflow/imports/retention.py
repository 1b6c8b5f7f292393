"""How long import jobs keep their files: a job finished (done or failed) more than
``OPPFLOW_FILE_RETENTION_DAYS`` ago is deleted, and so are its upload's and its report's
contents in the file store, unless an opportunity's file or a job still kept has the same
bytes (the store is content-addressed, so one content may serve several). The worker runs it
hourly; ``oppflow files prune`` runs it at once.

Like the runner, it opens its own units of work: the jobs are deleted in short transactions,
then each content is removed only once those have committed and a last look finds nothing
that refers to it (a rolled-back deletion must still find its bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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
    """Delete the jobs finished more than ``days`` ago (0: none), then the contents of their
    files and reports that nothing else refers to."""
    if days <= 0:
        return Pruned(0, 0)
    cutoff = utcnow() - timedelta(days=days)
    jobs, contents = 0, set[str]()
    while True:
        with unit_of_work(factory) as session:
            deleted, found = JobQueue(session).delete_finished_before(cutoff, BATCH)
        jobs += deleted
        contents |= found
        if deleted < BATCH:
            break
    return Pruned(jobs, _remove_unused(factory, store, contents))


def _remove_unused(factory: sessionmaker[Session], store: FileStore, contents: set[str]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        used = JobQueue(session).contents_in_use(contents) | contents_attached(session, contents)
    unused = sorted(contents - used)
    for sha256 in unused:
        store.remove(sha256)
    return len(unused)
