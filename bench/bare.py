"""The floor of ``bench/load.py``: a FastAPI app of the installed versions with one endpoint that
returns a small JSON object; no middleware, no database. Served like the product, by
``bench/common.py`` (``uvicorn bare:app`` or ``granian bare:app`` with ``bench/`` on the path).

For ``bench/move_floor.py``, when ``OPPFLOW_BENCH_REPLAYS`` names its recording, it also
answers ``POST /replay``: the next recorded stage move's statements, run through the driver
alone (``sqlite3`` or psycopg) on the database ``OPPFLOW_BENCH_REPLAY_DB`` (a SQLite file, or a
PostgreSQL URL; ``common.replayed_moves``).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}


if recording := os.environ.get("OPPFLOW_BENCH_REPLAYS"):
    # Imported here, so that the floor of bench/load.py imports nothing of oppflow.
    from common import replayed_moves

    _moves = replayed_moves(recording, os.environ["OPPFLOW_BENCH_REPLAY_DB"])

    @app.post("/replay")
    async def replay() -> dict[str, str]:
        if next(_moves, "done") == "done":
            raise RuntimeError("every recorded move was replayed: record as many as are sent")
        return {"status": "ok"}
