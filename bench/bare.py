"""The floor of ``bench/load.py``: a FastAPI app of the installed versions with one endpoint that
returns a small JSON object; no middleware, no database. Served like the product, by
``bench/common.py`` (``uvicorn bare:app`` or ``granian bare:app`` with ``bench/`` on the path).

For ``bench/move_floor.py``, when ``OPPFLOW_BENCH_REPLAYS`` names its recording, it also
answers ``POST /replay``: the next recorded stage move's statements, run through the driver
alone (``sqlite3`` or psycopg) on the database ``OPPFLOW_BENCH_REPLAY_DB`` (a SQLite file, or a
PostgreSQL URL), opened as the product opens it; a SQLite file's write-ahead log is
checkpointed from a thread, as ``oppflow serve`` does (decision 0042).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI

from oppflow.db import CHECKPOINT_EVERY_SECONDS, CHECKPOINT_IN_COMMIT_PAGES, WalCheckpoints

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}


Statements = list[tuple[str, Any, bool]]  # the SQL, its parameters, whether executemany


def _replayed_moves(recording: str, database: str) -> Iterator[None]:
    """Each step runs one recorded request's statements, its COMMIT included."""
    groups: list[Statements] = pickle.loads(Path(recording).read_bytes())
    run = (
        _postgres_runner(database)
        if database.startswith("postgresql")
        else _sqlite_runner(database)
    )
    for statements in groups:
        run(statements)
        yield


def _sqlite_runner(database: str) -> Callable[[Statements], None]:
    connection = open_as_the_product(database)
    connect = partial(sqlite3.connect, database, check_same_thread=False)
    WalCheckpoints(connect, CHECKPOINT_EVERY_SECONDS).start()
    return partial(run_on_sqlite, connection.cursor())


def run_on_sqlite(cursor: sqlite3.Cursor, statements: Statements) -> None:
    for sql, parameters, many in statements:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters).fetchall()


def _postgres_runner(url: str) -> Callable[[Statements], None]:
    return partial(run_on_postgres, psycopg.connect(postgres_conninfo(url)))


def run_on_postgres(connection: psycopg.Connection[Any], statements: Statements) -> None:
    """psycopg begins a transaction at the first statement; COMMIT is the driver's."""
    with connection.cursor() as cursor:
        for sql, parameters, many in statements:
            if sql == "COMMIT":
                connection.commit()
            elif many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters or None)
                if cursor.description is not None:
                    cursor.fetchall()


def postgres_conninfo(url: str) -> str:
    """The libpq form of a ``postgresql+psycopg://`` URL (its options kept)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def open_as_the_product(database: str) -> sqlite3.Connection:
    """A connection with the settings ``oppflow.db`` gives the product's."""
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    pragmas = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL")
    for pragma in (*pragmas, f"wal_autocheckpoint={CHECKPOINT_IN_COMMIT_PAGES}"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


if recording := os.environ.get("OPPFLOW_BENCH_REPLAYS"):
    _moves = _replayed_moves(recording, os.environ["OPPFLOW_BENCH_REPLAY_DB"])

    @app.post("/replay")
    async def replay() -> dict[str, str]:
        next(_moves)
        return {"status": "ok"}
