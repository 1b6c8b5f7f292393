"""The delivery worker: ``oppflow worker``, or a thread inside ``oppflow serve`` on SQLite.
It also runs the queued import jobs (``imports/runner.py``, decision 0022), one at a time.

Several workers may run against one PostgreSQL database: the dispatcher's cursor and the
deliveries are claimed with ``FOR UPDATE SKIP LOCKED``, so no two deliver the same event at
the same time. On SQLite, each step takes the database's single write lock first.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from oppflow.config import get_settings
from oppflow.db import driver_reason, unit_of_work
from oppflow.errors import OppflowError
from oppflow.events import delivery
from oppflow.imports import retention
from oppflow.imports import runner as import_runner

log = logging.getLogger("oppflow.webhooks")
CLAIM_BATCH = 10
PRUNE_EVERY_SECONDS = 3600.0


def http_client() -> httpx.Client:
    """No redirects (a 3xx is an answer, not a new destination), bounded time."""
    settings = get_settings()
    timeout = httpx.Timeout(settings.webhook_read_timeout, connect=settings.webhook_connect_timeout)
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)


def run_once(factory: sessionmaker[Session], client: httpx.Client, batch: int = CLAIM_BATCH) -> int:
    """Dispatch new events, then claim and send one batch and settle it in one transaction;
    the number of deliveries sent. A worker killed mid-batch leaves the batch's leases to run
    out: what it sent is sent again with the same ids (at least once, as Standard Webhooks
    receivers expect)."""
    with unit_of_work(factory) as session:
        delivery.dispatch(session)
    with unit_of_work(factory) as session:
        claimed = delivery.claim(session, batch)
    results = [(one, delivery.send(client, one)) for one in claimed]
    if results:
        with unit_of_work(factory) as session:
            delivery.finish(session, results)
    return len(claimed)


def run(
    factory: sessionmaker[Session],
    stop: threading.Event,
    *,
    poll_seconds: float = 1.0,
    batch: int = CLAIM_BATCH,
) -> None:
    """Deliver until ``stop`` is set, waiting ``poll_seconds`` whenever nothing is due; prune
    the import jobs' files past their retention at the start and hourly."""
    next_prune = time.monotonic()
    with http_client() as client:
        while not stop.is_set():
            try:
                sent = run_once(factory, client, batch)
                # An import runs to its end here: the webhooks wait for it on this worker.
                sent += import_runner.run_next(factory)
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                    prune_files(factory)
            except OperationalError as exc:  # a lock timeout, a restarting server: try again
                log.warning("webhook worker: database failed, retrying: %s", driver_reason(exc))
                sent = 0
            if not sent:
                stop.wait(poll_seconds)


def prune_files(factory: sessionmaker[Session]) -> None:
    """The import jobs' files past ``OPPFLOW_FILE_RETENTION_DAYS`` and the stored contents
    nothing names (imports/retention.py); an object store that does not answer is tried
    again next time, the worker goes on."""
    try:
        pruned = retention.prune_as_configured(factory)
    except (OppflowError, OSError) as exc:
        log.warning("pruning the import files: %s", exc)
        return
    if pruned.jobs or pruned.files:  # the sweep alone may have removed files
        log.info("pruned %d import jobs, %d stored files", pruned.jobs, pruned.files)


def start_thread(factory: sessionmaker[Session]) -> tuple[threading.Thread, threading.Event]:
    """A daemon thread running the worker (``oppflow serve`` on SQLite); set the event to stop."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run, args=(factory, stop), name="oppflow-webhooks", daemon=True
    )
    thread.start()
    return thread, stop
