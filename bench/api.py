"""Throughput and latency of the REST API on SQLite and PostgreSQL (``make bench``).

For each database: migrate a fresh schema, install the built-in data, seed a realistic volume
through the services, serve ``served_app()`` (as ``oppflow serve`` does) with one uvicorn
worker in a separate process, then time one keep-alive client doing N sequential requests per
operation. Every operation is reported against ``GET /healthz`` (the floor: no authentication,
no database).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from common import (
    SERVER_SESSIONS,
    Seeded,
    console,
    migrate_and_seed,
    postgres_url,
    serve,
    session_cpu_seconds,
)
from oppflow.api.app import create_app

POSTGRES_SCHEMA = "oppflow_bench"
MOVERS = 10
QUERY_PROBES = 4
HEALTHZ = "GET /healthz"
BARE = "bare FastAPI app, GET / (bench/bare.py)"
MOVE = "POST /api/v1/opportunities/{id}/process/next|previous"
CREATE = "POST /api/v1/opportunities"


# Operations ---------------------------------------------------------------------------------

Send = Callable[[httpx.Client, int], httpx.Response]


@dataclass
class Operation:
    name: str
    send: Send
    server: int = 0  # the session id of the server that answers it (common.SERVER_SESSIONS)


@dataclass
class Pager:
    """Walks a collection page by page, following ``next_cursor`` and starting over."""

    path: str
    params: dict[str, str | int]
    cursor: str | None = None

    def send(self, client: httpx.Client, _index: int) -> httpx.Response:
        params = self.params if self.cursor is None else {**self.params, "cursor": self.cursor}
        response = client.get(self.path, params=params)
        if response.is_success:
            self.cursor = response.json()["next_cursor"]
        return response


@dataclass
class StageMover:
    """Rotates over opportunities at Qualify: next (to Develop), then previous (back)."""

    ids: list[str]
    advanced: set[str] = field(default_factory=set)

    def send(self, client: httpx.Client, index: int) -> httpx.Response:
        opportunity = self.ids[index % len(self.ids)]
        kind = "previous" if opportunity in self.advanced else "next"
        response = client.post(f"/api/v1/opportunities/{opportunity}/process/{kind}")
        if response.is_success:
            self.advanced ^= {opportunity}
        return response


def operations(seeded: Seeded) -> list[Operation]:
    ids = seeded.sample_ids
    opportunities = "/api/v1/opportunities"
    pages = Pager(opportunities, {"limit": 50})
    filtered = Pager(opportunities, {"limit": 50, "state": "open", "pipeline_phase": "2-Develop"})
    return [
        Operation(HEALTHZ, lambda client, _: client.get("/healthz")),
        Operation("GET /api/v1/auth/me", lambda client, _: client.get("/api/v1/auth/me")),
        Operation(
            "GET /api/v1/opportunities/{id}",
            lambda client, i: client.get(f"{opportunities}/{ids[i % len(ids)]}"),
        ),
        Operation("GET /api/v1/opportunities?limit=50 (every page)", pages.send),
        Operation("  … &state=open&pipeline_phase=2-Develop", filtered.send),
        Operation(
            "GET /api/v1/analytics/funnel",
            lambda client, _: client.get("/api/v1/analytics/funnel"),
        ),
        Operation(MOVE, StageMover(seeded.movable_ids[:MOVERS]).send),
        Operation(CREATE, lambda client, i: client.post(opportunities, json=new_deal(i))),
    ]


def new_deal(index: int) -> dict[str, Any]:
    """A new opportunity as the web form sends one: a name, a value, a close date."""
    return {"name": f"Bench deal {index}", "estimated_value": 1000 + index % 97, "rating": "warm"}


# Measuring ----------------------------------------------------------------------------------


@dataclass
class Result:
    """The timed requests of one operation, gathered over every round."""

    name: str
    queries: float
    timings: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0  # seconds of the server's processes while it answered these requests

    @property
    def rate(self) -> float:
        return len(self.timings) / self.elapsed

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.timings) * 1000

    def percentile_ms(self, percent: int) -> float:
        return statistics.quantiles(self.timings, n=100, method="inclusive")[percent - 1] * 1000


def checked(response: httpx.Response) -> httpx.Response:
    if not response.is_success:
        request = response.request
        raise SystemExit(
            f"{request.method} {request.url} answered {response.status_code}: {response.text[:500]}"
        )
    return response


def measure(
    client: httpx.Client, operation: Operation, result: Result, requests: int, offset: int
) -> None:
    """``requests`` timed requests, one after the other, added to ``result``."""
    cpu = session_cpu_seconds(operation.server)
    started = time.perf_counter()
    for index in range(offset, offset + requests):
        before = time.perf_counter()
        response = operation.send(client, index)
        result.timings.append(time.perf_counter() - before)
        checked(response)
    result.elapsed += time.perf_counter() - started
    result.cpu += session_cpu_seconds(operation.server) - cpu


def run_clients(
    client: httpx.Client,
    ops: list[Operation],
    queries: dict[str, float],
    args: argparse.Namespace,
) -> list[Result]:
    """Warm every operation up, then time them in interleaved rounds, so that a load change
    on the machine weighs on every operation alike rather than on the one it falls on."""
    results = [Result(operation.name, queries[operation.name]) for operation in ops]
    for operation in ops:
        for index in range(args.warmup):
            checked(operation.send(client, index))
    rounds = min(args.rounds, args.requests)
    for number in range(rounds):
        share = args.requests // rounds + (number < args.requests % rounds)
        with console.status(f"measuring, round {number + 1} of {rounds}"):
            for operation, result in zip(ops, results, strict=True):
                measure(client, operation, result, share, args.warmup + len(result.timings))
    return results


def in_process_client(factory: sessionmaker[Session], headers: dict[str, str]) -> httpx.Client:
    """The application in this process (Starlette's test client, minus its deprecation note)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # StarletteDeprecationWarning: use httpx2
        from fastapi.testclient import TestClient

    return TestClient(create_app(factory), headers=headers)


def count_queries(
    engine: Engine, factory: sessionmaker[Session], token: str, ops: list[Operation]
) -> dict[str, float]:
    """SQL statements per request of each operation (in-process, BEGIN not counted)."""
    statements = 0

    def on_execute(*args: Any) -> None:
        nonlocal statements
        statements += not args[2].startswith("BEGIN")  # BEGIN or BEGIN IMMEDIATE

    event.listen(engine, "before_cursor_execute", on_execute)
    counts: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with in_process_client(factory, headers) as client:
        for operation in ops:
            statements = 0
            for index in range(QUERY_PROBES):
                checked(operation.send(client, index))
            counts[operation.name] = statements / QUERY_PROBES
    event.remove(engine, "before_cursor_execute", on_execute)
    return counts


# Databases ----------------------------------------------------------------------------------


def prepare(url: str, count: int) -> tuple[Seeded, list[Operation], dict[str, float]]:
    """Migrate, seed and count each operation's SQL statements on the database at ``url``."""
    seeded, factory = migrate_and_seed(url, count)
    ops = operations(seeded)
    engine = factory.kw["bind"]
    queries = count_queries(engine, factory, seeded.token, ops)
    engine.dispose()
    return seeded, ops, queries


def run_database(name: str, url: str, args: argparse.Namespace, workdir: Path) -> float:
    """Seed, serve and measure one database, print its table; the stage move's ratio."""
    console.rule(f"[bold]{name}")
    seeded, ops, queries = prepare(url, args.opportunities)
    headers = {"Authorization": f"Bearer {seeded.token}"}
    with (
        serve(url, workdir) as base_url,
        serve(url, workdir, app="bare") as bare_url,
        httpx.Client(base_url=base_url, headers=headers) as client,
        httpx.Client(base_url=bare_url) as bare,
    ):
        for operation in ops:
            operation.server = SERVER_SESSIONS[base_url]
        # The framework's floor, timed in the same rounds as the product's operations.
        bare_get = Operation(BARE, lambda _client, _index: bare.get("/"), SERVER_SESSIONS[bare_url])
        ops = [bare_get, *ops]
        load = os.getloadavg()[0]
        results = run_clients(client, ops, {**queries, BARE: 0}, args)
    report(name, results, load)
    return move_ratio(results)


# Reporting ----------------------------------------------------------------------------------


def move_ratio(results: list[Result]) -> float:
    rates = {result.name: result.rate for result in results}
    return rates[MOVE] / rates[HEALTHZ]


def report(name: str, results: list[Result], load: float) -> None:
    """The table of one database; ``load`` is the load average when its measuring began."""
    healthz = next(result for result in results if result.name == HEALTHZ)
    table = Table(
        title=f"{name}: one uvicorn worker, one sequential keep-alive client",
        caption=f"load average {load:.2f} → {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
        "CPU: the server's processes' own time per request (a database server's not counted), "
        "steadier than req/s on a loaded machine",
    )
    table.add_column("operation", no_wrap=True)
    columns = ("requests", "req/s", "p50 ms", "p99 ms", "× healthz", "CPU ms", "× healthz CPU")
    for column in (*columns, "SQL/req"):
        table.add_column(column, justify="right")
    for result in results:
        table.add_row(
            result.name,
            str(len(result.timings)),
            f"{result.rate:,.0f}",
            f"{result.percentile_ms(50):.2f}",
            f"{result.percentile_ms(99):.2f}",
            f"{result.rate / healthz.rate:.2f}",
            f"{result.cpu_ms:.3f}",
            f"{healthz.cpu / result.cpu:.2f}" if result.cpu else "–",
            f"{result.queries:g}",
        )
    console.print(table)
    rates = {result.name: result.rate for result in results}
    console.print(f"GET /healthz × the bare FastAPI app: {rates[HEALTHZ] / rates[BARE]:.2f}")


def verdict(outcomes: dict[str, float]) -> str:
    parts = [
        f"{name} {'yes' if ratio >= 0.5 else 'no'} ({ratio:.2f}×)"
        for name, ratio in outcomes.items()
    ]
    return "Stage move reaches at least half of GET /healthz's rate: " + ", ".join(parts)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=500, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before those")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of requests")
    parser.add_argument("--opportunities", type=int, default=2000, help="opportunities to seed")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if args.requests < 2 or args.opportunities < 100 or args.rounds < 1:
        parser.error("--requests must be at least 2, --opportunities 100, --rounds 1")
    return args


def databases(choice: str, workdir: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    if choice in ("sqlite", "both"):
        found["SQLite"] = f"sqlite:///{workdir / 'bench.db'}"
    if choice in ("postgresql", "both") and (url := postgres_url(POSTGRES_SCHEMA)):
        found["PostgreSQL"] = url
    return found


def main() -> None:
    args = parse_args()
    outcomes: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="oppflow-bench-") as directory:
        workdir = Path(directory)
        for name, url in databases(args.database, workdir).items():
            outcomes[name] = run_database(name, url, args, workdir)
    if outcomes:
        console.print(verdict(outcomes))


if __name__ == "__main__":
    main()
