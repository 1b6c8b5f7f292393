"""How long import jobs keep their files, and the sweep of contents nothing names.

A job finished (done or failed) more than ``OPPFLOW_FILE_RETENTION_DAYS`` ago, or left a
draft that long, is deleted, and so are its upload's and its report's contents in the file
store, unless an opportunity's file or a job still kept has the same bytes (the store is
content-addressed, so one content may serve several), or the same bytes were uploaded again in
the last ``GRACE``: their job or file may not be committed yet, so no query could see it.

Then every stored content that no opportunity file and no job names, and that was not kept
within ``GRACE``, is removed: the bytes of a file deleted while the same bytes were being
uploaded again (``related/files.py`` leaves them), of an upload whose request then failed.
This runs whatever the retention, 0 (jobs kept for ever) included. Before all that, what killed
processes left in the store's directory more than ``GRACE`` ago is cleared (``FileStore.tidy``).
The worker runs all of it hourly; ``oppflow files prune`` runs it at once.

Like the runner, it opens its own units of work, a batch at a time: it reads the expired jobs
and which of their contents nothing else refers to, removes those contents, then deletes the
jobs in a short transaction; the sweep reads which of a batch of stored contents are named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import utcnow
from oppflow.config import get_settings
from oppflow.db import unit_of_work
from oppflow.imports.repository import JobQueue
from oppflow.models import ImportJob
from oppflow.related.repository import contents_attached
from oppflow.related.storage import GRACE, FileStore, Removal, default_store

# Jobs deleted per transaction: SQLite's write lock is held for one batch at a time. Also the
# stored contents the sweep asks about at once: its memory stays bounded.
BATCH = 500
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    jobs: int
    files: int


def prune(
    factory: sessionmaker[Session],
    store: FileStore,
    *,
    days: int,
    grace: timedelta = GRACE,
    sweeping: bool = True,
) -> Pruned:
    """Delete the jobs finished (or drafts made) more than ``days`` ago (0: none), with the
    contents of their files and reports that nothing else refers to and that were not kept
    again within ``grace``, a batch at a time; then, ``sweeping``, the contents nothing
    names (``OPPFLOW_FILE_SWEEP``: off where databases share a store). First, what killed
    processes left in the store's directory before ``grace`` is cleared (``FileStore.tidy``)."""
    _tidy(store, utcnow() - grace)
    pruned = _prune_jobs(factory, store, days, grace)
    swept = sweep(factory, store, grace=grace) if sweeping else 0
    return Pruned(pruned.jobs, pruned.files + swept)


def _tidy(store: FileStore, older_than: datetime) -> None:
    # A directory this process may not clear (another user's, a network filesystem that
    # fails) must not stop the retention and the sweep, which need no more than the store.
    try:
        cleared = store.tidy(older_than)
    except OSError as exc:
        log.warning("tidying the file store: %s", exc)
        return
    if cleared:
        log.info("cleared %d files left by killed processes", cleared)


def prune_as_configured(factory: sessionmaker[Session], *, days: int | None = None) -> Pruned:
    """``prune`` as the settings say: the configured store, ``OPPFLOW_FILE_RETENTION_DAYS``
    (unless ``days``) and ``OPPFLOW_FILE_SWEEP``. The worker and ``oppflow files prune``."""
    settings = get_settings()
    kept = settings.file_retention_days if days is None else days
    return prune(factory, default_store(), days=kept, sweeping=settings.file_sweep)


def _prune_jobs(
    factory: sessionmaker[Session], store: FileStore, days: int, grace: timedelta
) -> Pruned:
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


def sweep(factory: sessionmaker[Session], store: FileStore, *, grace: timedelta = GRACE) -> int:
    """Remove the stored contents that no opportunity file and no import job names and that
    were not kept within ``grace``, ``BATCH`` at a time; how many were removed."""
    removed, contents = 0, store.stored()
    while batch := set(islice(contents, BATCH)):
        removed += _sweep_batch(factory, store, batch, utcnow() - grace)
    return removed


def _sweep_batch(
    factory: sessionmaker[Session], store: FileStore, contents: set[str], kept_since: datetime
) -> int:
    # ``kept_since`` is taken before the query: bytes kept for a file or job that the query
    # cannot see yet (not committed) were kept after it, so they stay.
    with unit_of_work(factory, read_only=True) as session:
        named = _named(session, contents)
    done = [store.remove_unless_kept_since(sha, kept_since) for sha in sorted(contents - named)]
    return sum(removal is Removal.REMOVED for removal in done)


def _named(session: Session, contents: set[str]) -> set[str]:
    """Those of ``contents`` that an opportunity's file or a job's upload or report names."""
    return set(JobQueue(session).contents_in_use(contents)) | contents_attached(session, contents)
