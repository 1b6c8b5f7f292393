"""SQLite's write-ahead log checkpointed from a thread beside the server (decision 0042): a
commit leaves the log to it below ``CHECKPOINT_IN_COMMIT_PAGES``, and the thread copies the
committed pages into the database, so that the next write starts the log over."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from oppflow import db
from tests.conftest import POSTGRES_UP, POSTGRES_URL, SKIP_POSTGRES

ROWS = 2_000


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    yield engine
    engine.dispose()


def _log_frames(database: Path) -> int:
    """The frames in the log now. A PASSIVE checkpoint reports them; it copies too, so the
    tests call it only once their thread is stopped (and outside a transaction)."""
    with closing(sqlite3.connect(database)) as connection:
        frames: int = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    return frames


def _write(engine: Engine, rows: int) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (body TEXT)")
        connection.execute(
            text("INSERT INTO filler (body) VALUES (:body)"),
            [{"body": f"{n:08d}" * 128} for n in range(rows)],
        )


def _wait_for_the_database_to_grow(path: Path, beyond: int) -> int:
    deadline = time.monotonic() + 10
    while path.stat().st_size <= beyond and time.monotonic() < deadline:
        time.sleep(0.01)
    return path.stat().st_size


def test_every_connection_leaves_checkpoints_below_its_threshold_to_the_thread(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    assert pages == db.CHECKPOINT_IN_COMMIT_PAGES


def _checkpointed_then_written(engine: Engine, database: Path) -> int:
    """Write a table's worth of pages, let the thread copy them into ``database``, stop it,
    then write once more; the database's size once they were copied."""
    _write(engine, ROWS)  # about 600 pages, under the commit's own threshold
    left_in_the_log = database.stat().st_size
    checkpoints = db.start_wal_checkpoints(engine, every=0.01)
    assert checkpoints is not None
    # Most of the table copied: a checkpoint grows the file page after page, and waiting for
    # the first page only failed under load, half-way through one (155,648 bytes).
    copied = left_in_the_log + ROWS * 1024 // 2
    try:
        grown = _wait_for_the_database_to_grow(database, beyond=copied)
    finally:
        checkpoints.stop()  # after the checkpoint it may be running
    _write(engine, 1)
    assert grown > copied
    return grown


def test_the_thread_copies_the_committed_pages_and_the_next_write_starts_the_log_over(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    database = tmp_path / "wal.db"
    _checkpointed_then_written(sqlite_engine, database)
    assert _log_frames(database) < 20


def test_a_uri_names_the_file_the_thread_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "by-uri.db"
    engine = db.make_engine(f"sqlite:///file:{database}?mode=rwc&uri=true")
    try:
        _checkpointed_then_written(engine, database)
    finally:
        engine.dispose()
    assert sorted(path.name for path in tmp_path.iterdir() if "by-uri" not in path.name) == []


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file::memory:?cache=shared&uri=true"]
)
def test_no_thread_for_a_database_in_memory(url: str) -> None:
    in_memory = db.make_engine(url)
    assert db.start_wal_checkpoints(in_memory) is None
    in_memory.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_UP, reason=SKIP_POSTGRES)
def test_no_thread_on_postgresql() -> None:
    engine = db.make_engine(POSTGRES_URL)
    assert db.start_wal_checkpoints(engine) is None
    engine.dispose()
