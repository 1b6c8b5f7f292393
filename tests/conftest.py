"""Fixtures: every test that asks for ``client`` or ``factory`` runs on SQLite and PostgreSQL.

PostgreSQL is the server at ``OPPFLOW_TEST_POSTGRES_URL`` (default 127.0.0.1:5432, database
``test``); each pytest worker migrates its own schema once, and every test starts from empty
tables with the built-in processes installed.
"""

from __future__ import annotations

import gc
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from oppflow import migrate
from oppflow.config import get_settings
from oppflow.db import READ_ONLY, get_engine, make_engine, session_factory, unit_of_work
from oppflow.install import ensure_builtin_data
from oppflow.models import Base
from oppflow.process import catalog as process_catalog
from oppflow.security import passwords
from tests.client import AppClient, app_on

POSTGRES_URL = os.environ.get(
    "OPPFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_answers() -> bool:
    try:
        dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


POSTGRES_UP = postgres_answers()
SKIP_POSTGRES = "PostgreSQL at 127.0.0.1:5432 does not answer: its half of the suite is skipped"


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built (2,300 items, the contract test's 8,500 coverage cases, the
    modules) lives as long as the run: out of the garbage collector's sight from here, rather
    than walked again by each full collection (about 8 % of a contract and security run)."""
    gc.collect()
    gc.freeze()


def pytest_report_header() -> str:
    if POSTGRES_UP:
        return f"oppflow: running on SQLite and on PostgreSQL ({POSTGRES_URL.split('@')[-1]})"
    return f"oppflow: {SKIP_POSTGRES}"


def _schema_name() -> str:
    """A schema of this pytest process alone, so parallel runs never share tables."""
    return f"oppflow_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """File contents go to a temporary directory, never to the user's data directory."""
    directory = tmp_path_factory.mktemp("files")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPPFLOW_FILES_DIR", str(directory))
        get_settings.cache_clear()
        yield directory
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing() -> Iterator[None]:
    """Argon2id with the lowest cost: still real argon2id hashes, checked the same way, but
    each log-in in a test no longer costs half a second of CPU."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", cheap)
        dummy = cheap.hash("not-a-real-password")
        patch.setattr(passwords, "_dummy_hash", lambda: dummy)
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating every time), its
    tables emptied as on PostgreSQL (the rows some migrations write come with the built-in
    data: ``with_builtin_data``)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.begin() as connection:
        for table in reversed(TABLES):
            connection.execute(table.delete())
    with engine.connect() as connection:  # a checkpoint cannot run inside a write transaction
        connection.execution_options(**{READ_ONLY: True})
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    if not POSTGRES_UP:
        pytest.skip(SKIP_POSTGRES)
    schema = _schema_name()
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # A commit returns before its WAL reaches the disk: what another connection sees, and what
    # survives a killed server process (the crash tests), are unchanged; only a crash of
    # PostgreSQL itself could lose the last commits, and the tests never crash it.
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    url = f"{POSTGRES_URL}?options={quote(options)}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


# DELETE, not TRUNCATE: on tables of a few rows it takes a tenth of the time (TRUNCATE makes new
# files for every table and its indexes); the sequences restart as TRUNCATE's RESTART IDENTITY
# would have them. One round trip for all of it, before every test on PostgreSQL.
EMPTY_POSTGRES = ";".join(
    [f'DELETE FROM "{table.name}"' for table in reversed(Base.metadata.sorted_tables)]
    + [
        "SELECT setval(oid::regclass, 1, false) FROM pg_class"
        " WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace"
    ]
)


def _empty_postgres(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(EMPTY_POSTGRES)


TABLES = Base.metadata.sorted_tables
BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def empty_database(request: pytest.FixtureRequest, kind: str | None = None) -> Iterator[Engine]:
    """A migrated, empty database of the ``kind`` given or else the one ``request.param``
    names: a copy of the SQLite template, or this worker's PostgreSQL schema, emptied."""
    if (kind or request.param) == "sqlite":
        with _sqlite_database(request) as sqlite:
            yield sqlite
        return
    postgres: Engine = request.getfixturevalue("postgres_engine")
    _empty_postgres(postgres)
    yield postgres


# SQLite databases free for the next test, each with its engine. SQLAlchemy caches compiled
# statements per engine: with a new engine per test, each test compiled its statements again
# (7 % of the time of ordinary tests). A test gets one of these engines, its file overwritten
# with the template through SQLite's backup, which goes through SQLite's own locking and log.
_FREE_SQLITE: list[Engine] = []


@contextmanager
def _sqlite_database(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if _FREE_SQLITE:
        engine = _FREE_SQLITE.pop()
    else:
        directory = request.getfixturevalue("tmp_path_factory").mktemp("sqlite")
        engine = make_engine(f"sqlite:///{directory / 'oppflow.db'}")
    _copy_template(request.getfixturevalue("sqlite_template"), engine)
    try:
        yield engine
    finally:
        # A connection the test left open (a failed test's session kept by its traceback)
        # would make the next test's backup wait for its lock for ever: that engine goes.
        # Counted before dispose(), which starts a new pool.
        left_open = cast(QueuePool, engine.pool).checkedout()
        engine.dispose()
        if not left_open:
            _FREE_SQLITE.append(engine)


def _copy_template(template: Path, engine: Engine) -> None:
    engine.dispose()  # no pooled connection holds a transaction or a stale page
    assert engine.url.database is not None
    with (
        closing(sqlite3.connect(template)) as source,
        closing(sqlite3.connect(engine.url.database)) as target,
    ):
        source.backup(target)


# The rows ensure_builtin_data writes into an empty database, per dialect: written once per
# test process, then copied into each test's database (the processes' YAML is parsed and
# checked once, not in every test).
_builtin_rows: dict[str, list[tuple[Table, list[dict[str, Any]]]]] = {}


def with_builtin_data(engine: Engine) -> sessionmaker[Session]:
    """The session factory of ``engine`` (migrated and empty), once the built-in roles and
    processes are in."""
    made = sessionmaker(bind=engine, expire_on_commit=False)
    rows = _builtin_rows.get(engine.dialect.name)
    if rows is None:
        with unit_of_work(made) as session:
            ensure_builtin_data(session)
        _builtin_rows[engine.dialect.name] = _all_rows(engine)
    else:
        _insert_rows(engine, rows)
    return made


def _all_rows(engine: Engine) -> list[tuple[Table, list[dict[str, Any]]]]:
    with engine.connect() as connection:
        tables = [(t, [dict(r._mapping) for r in connection.execute(t.select())]) for t in TABLES]
    return [(table, rows) for table, rows in tables if rows]


def _insert_rows(engine: Engine, rows: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    with engine.begin() as connection:
        for table, table_rows in rows:
            connection.execute(table.insert(), table_rows)
            if engine.dialect.name == "postgresql" and "seq" in table.c:
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'seq'), :last)"),
                    {"last": max(row["seq"] for row in table_rows)},
                )
    _forget_other_definitions(rows)


def _forget_other_definitions(rows: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    """The built-in processes keep their ids from test to test: a version that an earlier
    test added to one of them must not be found in the process's cache of definitions."""
    versions = next(table_rows for table, table_rows in rows if table.name == "process_versions")
    builtin = {(row["process_id"], row["version"]) for row in versions}
    with process_catalog._cache_lock:
        for key in [key for key in process_catalog._cache if key not in builtin]:
            del process_catalog._cache[key]


@pytest.fixture(params=BOTH_DATABASES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database of each kind."""
    with empty_database(request) as made:
        yield made


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def module_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database of each kind, shared by the tests of one module: for those
    whose set-up (a served server, a world of records) costs more than the test, and whose
    tests leave each other's records alone."""
    with empty_database(request) as made:
        yield made


@pytest.fixture(scope="module")
def module_factory(module_engine: Engine) -> sessionmaker[Session]:
    """``module_engine``'s session factory, with the built-in roles and processes."""
    return with_builtin_data(module_engine)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """The session factory of a fresh database with the built-in roles and processes."""
    return with_builtin_data(engine)


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """HTTP through the ASGI app, on the test database."""
    with app_on(factory) as app, AppClient(app) as test_client:
        yield test_client


@pytest.fixture
def cli_on_test_database(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's and the worker's settings name the test database."""
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    caches = (get_settings, get_engine, session_factory)
    for cache in caches:
        cache.cache_clear()
    yield
    get_engine().dispose()
    for cache in caches:
        cache.cache_clear()
