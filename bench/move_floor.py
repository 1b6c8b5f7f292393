"""The floor of a stage move (issue 8): the SQL that the product's stage moves ran, replayed
through the driver alone by a bare FastAPI endpoint, beside ``GET /healthz`` and the
product's own stage move, timed in the same interleaved rounds, on SQLite and PostgreSQL.

The product's moves are run first in this process (the ASGI app, Starlette's test client) on
a seeded database, recording every statement each request sent with its parameters as the
driver received them (the transaction's start, authentication, the record's load, its
writes, the change log, the summaries, the audit row, the event), then a ``COMMIT``.
``bench/bare.py`` replays one request's statements per ``POST /replay`` on a copy of the
database taken before the recording (a SQLite file; on PostgreSQL a schema restored from
``pg_dump``), so that every statement meets the rows it met the first time. What the replay
leaves out is the product's Python: SQLAlchemy, the ORM, the process engine's rules,
validation and the answer's body. If the replay itself is under half of ``/healthz``'s rate,
no Python on top of these statements reaches issue 8's target.

One more replay, on another copy and without a server, times each kind of statement and
measures what the commits wrote: pages of the write-ahead log on SQLite, bytes of WAL on
PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.table import Table
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from api import (
    BARE,
    HEALTHZ,
    MOVE,
    POSTGRES_SCHEMA,
    Operation,
    Result,
    StageMover,
    databases,
    in_process_client,
    run_clients,
)
from common import (
    SERVER_SESSIONS,
    Statements,
    commit_label,
    console,
    migrate_and_seed,
    open_as_the_product,
    postgres_conninfo,
    run_on_postgres,
    run_on_sqlite,
    serve,
)
from oppflow.db import make_engine

REPLAY = "bare FastAPI app, POST /replay (a move's statements, the driver alone)"
SCHEMA = POSTGRES_SCHEMA  # as bench/api.py, recreated by ``databases``


def main() -> None:
    args = _options()
    with tempfile.TemporaryDirectory(prefix="oppflow-floor-") as directory:
        workdir = Path(directory)
        for name, url in databases(args.database, workdir).items():
            console.rule(f"[bold]{name}")
            _measure_database(name, url, workdir, args)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--opportunities", type=int, default=2000)
    parser.add_argument("--movers", type=int, default=10, help="opportunities moved in turn")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    return parser.parse_args()


def _measure_database(name: str, url: str, workdir: Path, args: argparse.Namespace) -> None:
    seeded, factory = migrate_and_seed(url, args.opportunities)
    factory.kw["bind"].dispose()
    mover = StageMover(seeded.movable_ids[: args.movers])
    headers = {"Authorization": f"Bearer {seeded.token}"}
    replays = workdir / "replays.pickle"
    try:
        replay_target, breakdown_target = _copy(url, "replay"), _copy(url, "breakdown")
        recorded = _record(url, headers, mover, args.warmup + args.requests)
        replays.write_bytes(pickle.dumps(recorded))
        breakdown = _breakdown(breakdown_target, recorded)
        results = _measure(url, workdir, headers, mover, (replays, replay_target), args)
    finally:
        _drop(url, "replay", "breakdown")
    _report(name, results, breakdown)


def _copy(url: str, suffix: str) -> str:
    """A copy of the database at ``url`` as it is now; where it is."""
    if url.startswith("sqlite"):
        return _copy_sqlite(Path(url.removeprefix("sqlite:///")), suffix)
    return _copy_postgres(url, suffix)


def _copy_sqlite(source: Path, suffix: str) -> str:
    """The file, its write-ahead log folded in, copied beside it."""
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target = source.with_name(f"{suffix}.db")
    shutil.copyfile(source, target)
    return str(target)


def _copy_postgres(url: str, suffix: str) -> str:
    """``pg_dump`` of the bench's schema, restored under another name."""
    schema = f"{SCHEMA}_{suffix}"
    conninfo = postgres_conninfo(url.split("?")[0])
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--schema", SCHEMA, conninfo],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    # The bench's schema name is unlike anything in its data.
    restore = dump.replace(f"{SCHEMA}.", f"{schema}.").replace(
        f"SCHEMA {SCHEMA}", f"SCHEMA {schema}"
    )
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", conninfo],
        input=restore,
        check=True,
        text=True,
        capture_output=True,
    )
    copy = url.replace(f"search_path%3D{SCHEMA}", f"search_path%3D{schema}")
    assert copy != url, f"no search_path={SCHEMA} in {url}"
    return copy


def _drop(url: str, *suffixes: str) -> None:
    """The PostgreSQL copies :func:`_copy` made (SQLite's are in the temporary directory)."""
    if url.startswith("postgresql"):
        with psycopg.connect(postgres_conninfo(url.split("?")[0]), autocommit=True) as connection:
            for suffix in suffixes:
                connection.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}_{suffix}" CASCADE')


def _record(url: str, headers: dict[str, str], mover: StageMover, moves: int) -> list[Statements]:
    """The statements of ``moves`` stage moves of the product, one list per request."""
    factory = sessionmaker(bind=make_engine(url), expire_on_commit=False)
    engine = factory.kw["bind"]
    current: Statements = []

    def on_execute(*args: Any) -> None:
        _connection, _cursor, statement, parameters, _context, many = args
        current.append((statement, parameters, many))

    event.listen(engine, "before_cursor_execute", on_execute)
    recorded: list[Statements] = []
    with in_process_client(factory, headers) as client:
        for index in range(moves):
            current.clear()
            mover.send(client, index).raise_for_status()
            recorded.append([*current, ("COMMIT", (), False)])
    engine.dispose()
    return recorded


@dataclass
class Breakdown:
    """A replay's time per kind of statement, and what its commits wrote, per move."""

    moves: int
    seconds: Counter[str] = field(default_factory=Counter)
    statements: int = 0
    written: str = ""


def _breakdown(target: str, recorded: list[Statements]) -> Breakdown:
    """The recorded moves replayed on ``target``, one statement at a time, timed."""
    found = Breakdown(len(recorded))
    if target.startswith("postgresql"):
        _breakdown_postgres(target, recorded, found)
    else:
        _breakdown_sqlite(target, recorded, found)
    return found


def _breakdown_postgres(target: str, recorded: list[Statements], found: Breakdown) -> None:
    with psycopg.connect(postgres_conninfo(target)) as connection:
        wal = _wal(connection)
        _replay_timed(lambda one: run_on_postgres(connection, [one]), recorded, found)
        found.written = f"{(_wal(connection) - wal) / len(recorded) / 1024:.0f} KB of WAL"


def _breakdown_sqlite(target: str, recorded: list[Statements], found: Breakdown) -> None:
    with closing(open_as_the_product(target)) as connection:
        connection.execute("PRAGMA wal_autocheckpoint=0")  # the log's size counts the pages
        cursor = connection.cursor()
        _replay_timed(lambda one: run_on_sqlite(cursor, [one]), recorded, found)
        page = connection.execute("PRAGMA page_size").fetchone()[0]
        # Before closing: the last connection to close folds the log into the file.
        frames = os.path.getsize(f"{target}-wal") / (page + 24)
    found.written = f"{frames / len(recorded):.0f} pages to the write-ahead log"


def _replay_timed(run: Any, recorded: list[Statements], found: Breakdown) -> None:
    for statements in recorded:
        for statement in statements:
            started = time.perf_counter()
            run(statement)
            found.seconds[" ".join(statement[0].split()[:3])] += time.perf_counter() - started
            found.statements += 1


def _wal(connection: psycopg.Connection[Any]) -> int:
    """The server's write-ahead log position, in bytes."""
    row = connection.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    connection.commit()
    return int(row[0]) if row else 0


def _measure(
    url: str,
    workdir: Path,
    headers: dict[str, str],
    mover: StageMover,
    replay: tuple[Path, str],
    args: argparse.Namespace,
) -> list[Result]:
    replaying = {"OPPFLOW_BENCH_REPLAYS": str(replay[0]), "OPPFLOW_BENCH_REPLAY_DB": replay[1]}
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


def _report(name: str, results: list[Result], breakdown: Breakdown) -> None:
    healthz = next(result for result in results if result.name == HEALTHZ)
    table = Table(title=f"{name}: the floor of a stage move ({commit_label()})")
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
        f"A recorded move replayed through the driver alone, without a server: "
        f"{breakdown.statements / moves:.1f} statements with its COMMIT, {statements:.0f} µs, "
        f"then the COMMIT {commit:.0f} µs, writing {breakdown.written}. The slowest:"
    )
    for kind, seconds in breakdown.seconds.most_common(5):
        console.print(f"  {seconds / moves * 1e6:6.1f} µs  {kind}")


if __name__ == "__main__":
    main()
