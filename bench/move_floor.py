"""The floor of a stage move on SQLite (issue 8): the SQL that the product's stage moves ran,
replayed through the driver alone by a bare FastAPI endpoint, beside ``GET /healthz`` and the
product's own stage move, timed in the same interleaved rounds.

The product's moves are run first in this process (the ASGI app, Starlette's test client) on
one copy of a seeded database, recording every statement each request sent with its
parameters as the driver received them (``BEGIN IMMEDIATE``, authentication, the record's
load, its writes, the change log, the summaries, the audit row, the event), then a
``COMMIT``. ``bench/bare.py`` replays one request's statements per ``POST /replay`` on a
second copy taken before the recording, so that every statement meets the rows it met the
first time. What the replay leaves out is the product's Python: SQLAlchemy, the ORM, the
process engine's rules, validation and the answer's body. If the replay itself is under
half of ``/healthz``'s rate, no Python on top of these statements reaches issue 8's target.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from api import BARE, HEALTHZ, MOVE, Operation, Result, StageMover, in_process_client, run_clients
from bare import open_as_the_product
from common import SERVER_SESSIONS, commit_label, console, migrate_and_seed, serve
from oppflow.db import make_engine

REPLAY = "bare FastAPI app, POST /replay (a move's statements, sqlite3 alone)"
Statement = tuple[str, Any, bool]  # the SQL, its parameters, whether executemany


def main() -> None:
    args = _options()
    with tempfile.TemporaryDirectory(prefix="oppflow-floor-") as directory:
        workdir = Path(directory)
        url, replay_db = f"sqlite:///{workdir / 'bench.db'}", workdir / "replay.db"
        seeded, factory = migrate_and_seed(url, args.opportunities)
        factory.kw["bind"].dispose()
        _copy(workdir / "bench.db", replay_db)
        mover = StageMover(seeded.movable_ids[: args.movers])
        headers = {"Authorization": f"Bearer {seeded.token}"}
        recorded = _record(url, headers, mover, args.warmup + args.requests)
        replays = workdir / "replays.pickle"
        replays.write_bytes(pickle.dumps(recorded))
        breakdown = _breakdown(replay_db, workdir / "breakdown.db", recorded)
        results = _measure(url, workdir, headers, mover, replays, replay_db, args)
    _report(results, breakdown)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--opportunities", type=int, default=2000)
    parser.add_argument("--movers", type=int, default=10, help="opportunities moved in turn")
    return parser.parse_args()


def _copy(source: Path, target: Path) -> None:
    """``source`` with its write-ahead log folded in, copied to ``target``."""
    with sqlite3.connect(source) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    shutil.copyfile(source, target)


def _record(url: str, headers: dict[str, str], mover: StageMover, moves: int) -> list[Any]:
    """The statements of ``moves`` stage moves of the product, one list per request."""
    factory = sessionmaker(bind=make_engine(url), expire_on_commit=False)
    engine = factory.kw["bind"]
    current: list[Statement] = []

    def on_execute(*args: Any) -> None:
        _connection, _cursor, statement, parameters, _context, many = args
        current.append((statement, parameters, many))

    event.listen(engine, "before_cursor_execute", on_execute)
    recorded: list[list[Statement]] = []
    with in_process_client(factory, headers) as client:
        for index in range(moves):
            current.clear()
            mover.send(client, index).raise_for_status()
            recorded.append([*current, ("COMMIT", (), False)])
    engine.dispose()
    return recorded


class Breakdown:
    """A replay's time per statement kind and the pages its commits wrote, per move."""

    def __init__(self, moves: int) -> None:
        self.moves = moves
        self.seconds: Counter[str] = Counter()
        self.statements = 0
        self.pages = 0.0


def _breakdown(source: Path, scratch: Path, recorded: list[Any]) -> Breakdown:
    """The recorded moves replayed on a copy of ``source`` with no checkpoint, so that the
    write-ahead log's size tells how many pages their commits wrote."""
    shutil.copyfile(source, scratch)
    connection = open_as_the_product(str(scratch))
    connection.execute("PRAGMA wal_autocheckpoint=0")
    cursor, found = connection.cursor(), Breakdown(len(recorded))
    for statements in recorded:
        for sql, parameters, many in statements:
            started = time.perf_counter()
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters).fetchall()
            found.seconds[" ".join(sql.split()[:3])] += time.perf_counter() - started
            found.statements += 1
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    found.pages = os.path.getsize(f"{scratch}-wal") / (page_size + 24) / len(recorded)
    connection.close()
    return found


def _measure(
    url: str,
    workdir: Path,
    headers: dict[str, str],
    mover: StageMover,
    replays: Path,
    replay_db: Path,
    args: argparse.Namespace,
) -> list[Result]:
    replaying = {"OPPFLOW_BENCH_REPLAYS": str(replays), "OPPFLOW_BENCH_REPLAY_DB": str(replay_db)}
    with (
        serve(url, workdir) as base_url,
        serve(url, workdir, app="bare", extra_env=replaying) as bare_url,
        httpx.Client(base_url=base_url, headers=headers) as client,
        httpx.Client(base_url=bare_url) as bare,
    ):
        product, floor = SERVER_SESSIONS[base_url], SERVER_SESSIONS[bare_url]
        ops = [
            Operation(BARE, lambda _client, _index: bare.get("/"), floor),
            Operation(HEALTHZ, lambda client, _index: client.get("/healthz"), product),
            Operation(REPLAY, lambda _client, _index: bare.post("/replay"), floor),
            Operation(MOVE, mover.send, product),
        ]
        return run_clients(client, ops, dict.fromkeys((o.name for o in ops), 0.0), args)


def _report(results: list[Result], breakdown: Breakdown) -> None:
    healthz = next(result for result in results if result.name == HEALTHZ)
    table = Table(title=f"The floor of a stage move on SQLite ({commit_label()})")
    for column in ("operation", "req/s", "p50 ms", "CPU ms", "× healthz"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for result in results:
        table.add_row(
            result.name,
            f"{result.rate:,.0f}",
            f"{result.percentile_ms(50):.2f}",
            f"{result.cpu_ms:.3f}",
            f"{result.rate / healthz.rate:.2f}",
        )
    console.print(table)
    moves = breakdown.moves
    commit = breakdown.seconds.pop("COMMIT") / moves * 1e6
    statements = sum(breakdown.seconds.values()) / moves * 1e6
    console.print(
        f"A recorded move, replayed through sqlite3 alone without a server or checkpoints: "
        f"{breakdown.statements / moves:.1f} statements with BEGIN and COMMIT, "
        f"{statements:.0f} µs, then the COMMIT {commit:.0f} µs writing {breakdown.pages:.0f} "
        "pages to the write-ahead log."
    )
    for kind, seconds in breakdown.seconds.most_common(6):
        console.print(f"  {seconds / moves * 1e6:6.1f} µs  {kind}")


if __name__ == "__main__":
    main()
