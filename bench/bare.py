"""The floor of ``bench/load.py``: a FastAPI app of the installed versions with one endpoint that
returns a small JSON object; no middleware, no database. Served like the product, by
``bench/common.py`` (``uvicorn bare:app`` or ``granian bare:app`` with ``bench/`` on the path).

For ``bench/move_floor.py``, when ``OPPFLOW_BENCH_REPLAYS`` names its recording, it also
answers ``POST /replay``: the next recorded stage move's statements, run through ``sqlite3``
alone on the database ``OPPFLOW_BENCH_REPLAY_DB``, opened as the product opens it and with its
write-ahead log checkpointed from a thread, as ``oppflow serve`` does (decision 0042).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from oppflow.db import CHECKPOINT_EVERY_SECONDS, CHECKPOINT_IN_COMMIT_PAGES, WalCheckpoints

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}


def _replayed_moves(recording: str, database: str) -> Iterator[None]:
    """Each step runs one recorded request's statements and commits them."""
    connection = open_as_the_product(database)
    connect = partial(sqlite3.connect, database, check_same_thread=False)
    WalCheckpoints(connect, CHECKPOINT_EVERY_SECONDS).start()
    groups: list[list[tuple[str, Any, bool]]] = pickle.loads(Path(recording).read_bytes())
    cursor = connection.cursor()
    for statements in groups:
        for sql, parameters, many in statements:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters).fetchall()
        yield


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
