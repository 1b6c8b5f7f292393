"""The database engine and the unit of work.

One unit of work per request, CLI command or job: it opens a session, lets services add and
flush, and commits on success or rolls back on error. Services never commit.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from oppflow import audit
from oppflow.analytics import changelog, kept_ids, totals
from oppflow.config import DEFAULT_LOCK_TIMEOUT_SECONDS, get_settings
from oppflow.events import outbox
from oppflow.security import epoch

# The execution option of a unit of work that will not write (a GET): on SQLite it begins
# deferred, so readers never queue for the write lock.
READ_ONLY = "oppflow_read_only"
# Migrations drop columns in place and reports read MATERIALIZED common table expressions:
# both came with SQLite 3.35 (2021).
SQLITE_AT_LEAST = (3, 35)
# A PostgreSQL connection idle in the pool this long is checked before it is used again.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "oppflow_idle_since"
# How often ``oppflow serve`` checkpoints a SQLite database's write-ahead log, and the log's
# size at which a commit checkpoints it itself, if that thread has not (decision 0042).
CHECKPOINT_EVERY_SECONDS = 0.05
CHECKPOINT_IN_COMMIT_PAGES = 10_000
log = logging.getLogger(__name__)


# PostgreSQL: lock_timeout, a serialisation failure, a deadlock.
_BUSY_STATES = frozenset({"55P03", "40001", "40P01"})


def is_busy(error: OperationalError) -> bool:
    """Whether ``error`` is a lock that was not granted in time (or a transaction that lost
    to a concurrent one), rather than a broken database or connection: a conflict to retry."""
    if getattr(error.orig, "sqlstate", None) in _BUSY_STATES:
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text or "table is locked" in text


def driver_reason(error: DBAPIError) -> str:
    """The driver's own words for ``error``, first line only: not SQLAlchemy's text, which adds
    the statement and its parameters (a customer's data), nor a password (drivers do not
    repeat it)."""
    lines = str(error.orig if error.orig is not None else "").strip().splitlines()
    return lines[0] if lines else type(error.orig or error).__name__


def make_engine(
    url: str, *, echo: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout; on both, a
    statement waits at most ``lock_timeout`` seconds for a lock."""
    milliseconds = max(1, round(lock_timeout * 1000))
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo, lock_timeout_ms=milliseconds)
    return _postgres_engine(url, echo=echo, lock_timeout_ms=milliseconds)


def _postgres_engine(url: str, *, echo: bool, lock_timeout_ms: int) -> Engine:
    # Last in, first out: under light traffic the same few connections serve every request and
    # stay fresh, and only those left idle age past the ping's threshold.
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_use_lifo=True)
    _ping_after_idle(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # As SQLite's busy_timeout: a statement waits for a row lock at most this long, then
        # fails (409, retry) rather than holding its worker for ever.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {lock_timeout_ms}")
            # No JIT compilation (decision 0044): the reports' statements at size run for
            # tenths of a second, and compiling each took 0.19-0.3 s, more than it saved.
            cursor.execute("SET jit = off")
            # Every server-side cursor (the reports' ``analytics.cursors``, ``yield_per``) is
            # read to its end: planned for its first tenth (the default), the waterfall at 1M
            # took a nested loop for 3.1 s where its whole result takes 0.75 s (decision 0049).
            cursor.execute("SET cursor_tuple_fraction = 1")
        dbapi_connection.commit()

    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use when it has been idle ``PING_AFTER_IDLE_SECONDS``:
    one the server or a firewall closed meanwhile (a restart, an idle timeout) is replaced
    rather than failing the request. SQLAlchemy's ``pool_pre_ping`` checks every checkout: a
    round trip per request, 0.19 ms of a 1.9 ms GET on the same host."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if not engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            # As pool_pre_ping: every pooled connection is replaced (after a restart they are
            # all dead, however recently used), and this checkout gets a new one.
            raise InvalidatePoolError(f"a pooled connection was closed: {exc}") from exc


def _sqlite_engine(url: str, *, echo: bool, lock_timeout_ms: int) -> Engine:
    if sqlite3.sqlite_version_info < SQLITE_AT_LEAST:
        wanted = ".".join(map(str, SQLITE_AT_LEAST))
        raise RuntimeError(
            f"oppflow needs SQLite {wanted} or later; this Python has {sqlite3.sqlite_version}."
            " Use a newer Python build, or PostgreSQL (OPPFLOW_DATABASE_URL)."
        )
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's legacy
        # behaviour defers BEGIN and breaks SAVEPOINT).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={lock_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_IN_COMMIT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock at BEGIN, waiting up to busy_timeout for it. A deferred
        # transaction that read first and another process committed since could not write at
        # all: SQLite refuses it at once ("database is locked"), whatever the timeout.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def start_wal_checkpoints(
    engine: Engine, every: float = CHECKPOINT_EVERY_SECONDS
) -> WalCheckpoints | None:
    """Checkpoint the write-ahead log of ``engine``'s SQLite file every ``every`` seconds from
    a thread of its own (``oppflow serve``). None when there is no file to checkpoint
    (PostgreSQL, a database in memory).

    Left to itself, SQLite checkpoints in the commit that finds the log over 1,000 pages: that
    request copies the pages back into the database and syncs it, once every few dozen writes
    (decision 0042). Checkpointed here, the log rarely reaches ``CHECKPOINT_IN_COMMIT_PAGES``;
    if it does, a commit still checkpoints, so the log stays bounded if this thread falls
    behind or fails."""
    if engine.dialect.name != "sqlite" or not _is_file(engine.url):
        return None
    # The file as SQLAlchemy opens it: a URI (``?uri=true``) or a path made absolute.
    args, options = engine.dialect.create_connect_args(engine.url)
    connect = partial(sqlite3.connect, *args, **{**options, "check_same_thread": False})
    return WalCheckpoints(connect, every).start()


def _is_file(url: URL) -> bool:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    return not in_memory and url.query.get("mode") != "memory"


class WalCheckpoints:
    """A daemon thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` every ``every`` seconds on
    a connection of its own; :meth:`stop` ends it. A passive checkpoint never waits for a lock
    nor blocks a reader or a writer: it copies what no reader still needs."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], every: float) -> None:
        self._connect = connect
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="oppflow-checkpoints", daemon=True)

    def start(self) -> WalCheckpoints:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the thread, after the checkpoint it may be running."""
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            connection = self._connect()
        except sqlite3.Error as error:
            log.warning("No WAL checkpoints beside the server (%s): commits make them.", error)
            return
        failing = False
        with closing(connection):
            while not self._stopping.wait(self._every):
                failing = self._checkpoint(connection, failing=failing)

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection, *, failing: bool) -> bool:
        """One checkpoint; whether it failed. A failure is logged once, not every tick."""
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            if not failing:
                log.warning("WAL checkpoints fail (%s): commits make them meanwhile.", error)
            return True
        if failing:
            log.warning("WAL checkpoints work again.")
        return False


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return configured_engine(url)


def configured_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings' echo and lock timeout."""
    settings = get_settings()
    return make_engine(url, echo=settings.sql_echo, lock_timeout=settings.lock_timeout_seconds)


@lru_cache
def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def unit_of_work(
    factory: sessionmaker[Session] | None = None, *, read_only: bool = False
) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises.
    ``read_only`` promises no write (SQLite then begins without taking the write lock)."""
    session = (factory or session_factory())()
    if read_only:
        session.connection(execution_options={READ_ONLY: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# The change log first: it sets the defaults of a new opportunity's tracked fields, which
# the audit row of its creation then shows too.
changelog.install()
totals.install()
audit.install()
epoch.install()
outbox.install()
kept_ids.install()
