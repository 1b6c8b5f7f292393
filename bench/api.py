"""Throughput and latency of the REST API on SQLite and PostgreSQL (``make bench``).

For each database: migrate a fresh schema, install the built-in data, seed a realistic volume
through the services, serve ``create_app()`` with one uvicorn worker in a separate
process, then time one keep-alive client doing N sequential requests per operation. Every
operation is reported against ``GET /healthz`` (the floor: no authentication, no database).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.api.app import create_app
from oppflow.db import make_engine, unit_of_work
from oppflow.install import ensure_builtin_data
from oppflow.process import service as process_service
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import (
    AccountCreate,
    ContactCreate,
    LoseRequest,
    OpportunityCreate,
    WinRequest,
)
from oppflow.security import service as security_service
from oppflow.security.actor import Actor
from oppflow.security.schemas import UserCreate

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_SCHEMA = "oppflow_bench"
USERNAME = "bench"
BATCH = 100
MOVERS = 10
SAMPLE = 200
QUERY_PROBES = 4
STAGES = ("qualify", "develop", "propose", "close")
# Where the seeded opportunities stand: (outcome, weight); outcomes past "close" are closed.
OUTCOMES = (
    ("qualify", 35),
    ("develop", 25),
    ("propose", 18),
    ("close", 12),
    ("won", 6),
    ("lost", 4),
)
PROBABILITY = {"qualify": 10, "develop": 30, "propose": 60, "close": 80, "won": 100, "lost": 0}
HEALTHZ = "GET /healthz"
MOVE = "POST /api/v1/opportunities/{id}/process/next|previous"

# Wide enough for the table when the output is not a terminal (make, CI, a pipe).
console = Console(width=None if sys.stdout.isatty() else 120)


# Seeding ------------------------------------------------------------------------------------


@dataclass
class Customers:
    """Accounts with their contacts, as (account id, [contact ids])."""

    pairs: list[tuple[uuid.UUID, list[uuid.UUID]]] = field(default_factory=list)

    def pick(self, rng: random.Random) -> tuple[uuid.UUID, uuid.UUID]:
        account, contacts = rng.choice(self.pairs)
        return account, rng.choice(contacts)


@dataclass
class Seeded:
    """What the clients need: a bearer token and the opportunities to read and move."""

    token: str
    sample_ids: list[str]
    movable_ids: list[str]


def seed(factory: sessionmaker[Session], count: int, progress: Progress) -> Seeded:
    """Users, a token, accounts and contacts, then ``count`` opportunities over the stages."""
    rng = random.Random(20240501)
    with unit_of_work(factory) as session:
        ensure_builtin_data(session)  # root business unit, built-in roles and processes
        actor, owners = seed_users(session)
        token, _ = security_service.create_api_token(session, username=USERNAME, name="bench")
    customers = seed_customers(factory, actor, max(count // 4, 1), rng, progress)
    placed = seed_opportunities(factory, actor, owners, customers, count, rng, progress)
    movable = [str(i) for i, outcome, filled in placed if outcome == "qualify" and filled]
    everyone = [str(i) for i, _, _ in placed]
    return Seeded(token, rng.sample(everyone, min(SAMPLE, len(everyone))), movable[:MOVERS])


def seed_users(session: Session) -> tuple[Actor, list[uuid.UUID]]:
    """The bench user (a sales manager, who holds the token) and four salespeople."""
    manager = security_service.create_user(
        session,
        actor=None,
        data=UserCreate(username=USERNAME, full_name="Bench Manager", roles=["sales-manager"]),
    )
    owners = [manager.id]
    for number in range(1, 5):
        data = UserCreate(username=f"rep{number}", full_name=f"Sales Rep {number}")
        owners.append(security_service.create_user(session, actor=None, data=data).id)
    return security_service.actor_for(manager), owners


def seed_customers(
    factory: sessionmaker[Session],
    actor: Actor,
    accounts: int,
    rng: random.Random,
    progress: Progress,
) -> Customers:
    """``accounts`` accounts with two contacts each, through the services."""
    customers = Customers()
    task = progress.add_task("accounts and contacts", total=accounts)
    for start in range(0, accounts, BATCH):
        with unit_of_work(factory) as session:
            for number in range(start, min(start + BATCH, accounts)):
                customers.pairs.append(seed_customer(session, actor, number, rng))
        progress.update(task, completed=min(start + BATCH, accounts))
    return customers


def seed_customer(
    session: Session, actor: Actor, number: int, rng: random.Random
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    account = sales_service.create_account(
        session,
        actor=actor,
        data=AccountCreate(
            name=f"Company {number:05d}",
            industry=rng.choice(["Retail", "Health", "Energy"]),
            city=rng.choice(["Lyon", "Leeds", "Austin", "Osaka"]),
            country="Somewhere",
        ),
    )
    contacts = [
        sales_service.create_contact(
            session,
            actor=actor,
            data=ContactCreate(
                first_name=f"Person{index}",
                last_name=f"Contact {number:05d}",
                email=f"p{index}.c{number}@example.com",
                account_id=account.id,
            ),
        ).id
        for index in range(2)
    ]
    return account.id, contacts


def seed_opportunities(
    factory: sessionmaker[Session],
    actor: Actor,
    owners: list[uuid.UUID],
    customers: Customers,
    count: int,
    rng: random.Random,
    progress: Progress,
) -> list[tuple[uuid.UUID, str, bool]]:
    """``count`` opportunities moved to their stage (history rows included) or closed."""
    placed: list[tuple[uuid.UUID, str, bool]] = []
    task = progress.add_task("opportunities", total=count)
    outcomes, weights = zip(*OUTCOMES, strict=True)
    for start in range(0, count, BATCH):
        with unit_of_work(factory) as session:
            for number in range(start, min(start + BATCH, count)):
                outcome = rng.choices(outcomes, weights)[0]
                fields = opportunity_fields(rng, number, outcome, owners, customers)
                placed.append(place_opportunity(session, actor, fields, outcome))
        progress.update(task, completed=min(start + BATCH, count))
    return placed


def opportunity_fields(
    rng: random.Random,
    number: int,
    outcome: str,
    owners: list[uuid.UUID],
    customers: Customers,
) -> dict[str, Any]:
    """The fields an opportunity at ``outcome`` has filled (half of Qualify lacks its steps)."""
    reached = STAGES.index(outcome) if outcome in STAGES else len(STAGES) - 1
    value = Decimal(rng.randrange(5, 500) * 1000)
    fields: dict[str, Any] = {
        "name": f"{rng.randrange(5, 200)} laptops, deal {number:05d}",
        "owner_id": rng.choice(owners),
        "estimated_value": value,
        "estimated_close_date": date(2025, 1, 1) + timedelta(days=rng.randrange(0, 540)),
        "probability": PROBABILITY[outcome],
        "rating": rng.choice(["hot", "warm", "cold"]),
    }
    if reached > 0 or rng.random() < 0.5:
        account, contact = customers.pick(rng)
        fields |= {
            "account_id": account,
            "contact_id": contact,
            "budget_amount": value,
            "purchase_timeframe": "this_quarter",
            "purchase_process": "committee",
        }
    if reached > 1:
        fields |= {"customer_need": "Replace ageing fleet", "proposed_solution": "Leasing"}
    if reached > 2:
        fields |= {"proposal_presented": True, "final_decision_date": date(2025, 6, 30)}
    return fields


def place_opportunity(
    session: Session, actor: Actor, fields: dict[str, Any], outcome: str
) -> tuple[uuid.UUID, str, bool]:
    """Create the opportunity, move it stage by stage to ``outcome``, close it if won/lost."""
    opportunity = sales_service.create_opportunity(
        session, actor=actor, data=OpportunityCreate(**fields)
    )
    moves = STAGES.index(outcome) if outcome in STAGES else len(STAGES) - 1
    for _ in range(moves):
        process_service.move(session, actor=actor, opportunity_id=opportunity.id, kind="next")
    if outcome == "won":
        sales_service.win(session, actor=actor, opportunity_id=opportunity.id, data=WinRequest())
    elif outcome == "lost":
        data = LoseRequest(status_reason="out_sold")
        sales_service.lose(session, actor=actor, opportunity_id=opportunity.id, data=data)
    return opportunity.id, outcome, "contact_id" in fields


# Operations ---------------------------------------------------------------------------------

Send = Callable[[httpx.Client, int], httpx.Response]


@dataclass
class Operation:
    name: str
    send: Send


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
        Operation(MOVE, StageMover(seeded.movable_ids).send),
    ]


# Measuring ----------------------------------------------------------------------------------


@dataclass
class Result:
    """The timed requests of one operation, gathered over every round."""

    name: str
    queries: float
    timings: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.timings) / self.elapsed

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
    started = time.perf_counter()
    for index in range(offset, offset + requests):
        before = time.perf_counter()
        response = operation.send(client, index)
        result.timings.append(time.perf_counter() - before)
        checked(response)
    result.elapsed += time.perf_counter() - started


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
        statements += args[2] != "BEGIN"

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


# Serving ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(database_url: str, workdir: Path) -> Iterator[str]:
    """``create_app()`` under one uvicorn worker in another process; yields its base URL."""
    port = free_port()
    env = {**os.environ, "OPPFLOW_DATABASE_URL": database_url, "OPPFLOW_DATA_DIR": str(workdir)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "oppflow.api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_healthy(base_url, server, log_path)
            yield base_url
        finally:
            stop(server)


def wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once ``/healthz`` answers; stop the run if the server dies or stays silent."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server exited ({server.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"The server did not answer /healthz within 30 s:\n{log.read_text()}")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# Databases ----------------------------------------------------------------------------------


def postgres_url() -> str | None:
    """A freshly recreated ``oppflow_bench`` schema, or None when PostgreSQL does not answer."""
    try:
        dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=3):
            pass
    except psycopg.Error as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        where = POSTGRES_URL.split("@")[-1]
        console.print(f"[yellow]PostgreSQL at {where} does not answer ({reason}): skipped.[/]")
        return None
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{POSTGRES_SCHEMA}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{POSTGRES_SCHEMA}"'))
    admin.dispose()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{POSTGRES_SCHEMA}"


def prepare(url: str, count: int) -> tuple[Seeded, list[Operation], dict[str, float]]:
    """Migrate, seed and count each operation's SQL statements on the database at ``url``."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        seeded = seed(factory, count, progress)
    ops = operations(seeded)
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
        httpx.Client(base_url=base_url, headers=headers) as client,
    ):
        load = os.getloadavg()[0]
        results = run_clients(client, ops, queries, args)
    report(name, results, load)
    return move_ratio(results)


# Reporting ----------------------------------------------------------------------------------


def move_ratio(results: list[Result]) -> float:
    rates = {result.name: result.rate for result in results}
    return rates[MOVE] / rates[HEALTHZ]


def report(name: str, results: list[Result], load: float) -> None:
    """The table of one database; ``load`` is the load average when its measuring began."""
    floor = next(result.rate for result in results if result.name == HEALTHZ)
    table = Table(
        title=f"{name}: one uvicorn worker, one sequential keep-alive client",
        caption=f"load average {load:.2f} → {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
    )
    table.add_column("operation", no_wrap=True)
    for column in ("requests", "req/s", "p50 ms", "p99 ms", "× healthz", "SQL/req"):
        table.add_column(column, justify="right")
    for result in results:
        table.add_row(
            result.name,
            str(len(result.timings)),
            f"{result.rate:,.0f}",
            f"{result.percentile_ms(50):.2f}",
            f"{result.percentile_ms(99):.2f}",
            f"{result.rate / floor:.2f}",
            f"{result.queries:g}",
        )
    console.print(table)


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
    if choice in ("postgresql", "both") and (url := postgres_url()):
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
