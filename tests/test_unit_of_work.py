"""Units of work that overlap: on SQLite a writer begins with the write lock, so one that read
before another committed still writes (it used to fail at once as "database is locked")."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import make_engine, unit_of_work
from oppflow.models import SecurityEpoch


def _bump(session: Session) -> None:
    session.execute(update(SecurityEpoch).values(value=SecurityEpoch.value + 1))


def _epoch(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return session.scalars(select(SecurityEpoch.value)).one()


def test_a_writer_that_read_first_is_not_refused_by_one_that_committed_meanwhile(
    factory: sessionmaker[Session],
) -> None:
    before = _epoch(factory)
    failures: list[BaseException] = []

    def other_writer() -> None:
        try:
            with unit_of_work(factory) as session:
                _bump(session)
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    with unit_of_work(factory) as session:
        session.scalars(select(SecurityEpoch.value)).one()  # read first
        thread = threading.Thread(target=other_writer)
        thread.start()
        time.sleep(0.3)  # the other writer commits here if nothing makes it wait
        _bump(session)
    thread.join(timeout=30)
    assert failures == []
    assert _epoch(factory) == before + 2


def test_a_reader_does_not_wait_for_a_writer(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        _bump(session)
        # Another connection, while this one holds the write lock: a reader that asked for
        # the lock would wait out busy_timeout, then fail.
        seen = _epoch(factory)
    assert _epoch(factory) == seen + 1


def test_an_sqlite_older_than_3_35_is_refused_saying_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Migrations drop columns in place and reports use MATERIALIZED: both need 3.35.
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(RuntimeError, match=r"SQLite 3\.35 or later; this Python has 3\.34\.1"):
        make_engine(f"sqlite:///{tmp_path / 'old.db'}")
