"""What the benchmarks share: seeding a database through the services, serving an application in
another process (uvicorn or granian, one or more workers), and a fresh PostgreSQL schema.

``bench/`` is a directory of scripts, not a package: ``api.py``, ``load.py`` and ``profiling.py``
import this module as their sibling (Python puts a script's directory first on ``sys.path``).
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.db import (
    CHECKPOINT_EVERY_SECONDS,
    CHECKPOINT_IN_COMMIT_PAGES,
    WalCheckpoints,
    make_engine,
    unit_of_work,
)
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

BENCH_DIR = Path(__file__).resolve().parent
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
USERNAME = "bench"
BATCH = 100
SAMPLE = 200
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
SERVERS = ("uvicorn", "granian")

# Wide enough for the tables when the output is not a terminal (make, CI, a pipe).
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
    """What the clients need: a bearer token, the opportunities to read (a sample), to change
    (the open ones of the sample) and to move (at Qualify with its steps filled), and the
    customers to attach new opportunities to."""

    token: str
    sample_ids: list[str]
    open_ids: list[str]
    movable_ids: list[str]
    customers: Customers


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
    sample = rng.sample(placed, min(SAMPLE, len(placed)))
    still_open = [str(i) for i, outcome, _ in sample if outcome in STAGES]
    return Seeded(token, [str(i) for i, _, _ in sample], still_open, movable, customers)


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


# Serving ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def oppflow_command(port: int, workers: int) -> list[str]:
    """How the product is served: ``oppflow serve`` (uvicorn with uvloop and httptools, the
    defaults when installed); the bench migrated the database already."""
    address = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    oppflow = str(Path(sys.executable).with_name("oppflow"))
    return [oppflow, "serve", *address, "--no-access-log", "--no-migrate"]


def uvicorn_command(target: str, port: int, workers: int) -> list[str]:
    address = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    # The options ``oppflow serve`` amounts to, spelt out for an app it does not know.
    options = [
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    factory = ["--factory"] if target.startswith("oppflow.") else []
    return [sys.executable, "-m", "uvicorn", target, *factory, *address, *options]


def granian_command(target: str, port: int, workers: int) -> list[str]:
    address = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    options = ["--interface", "asgi", "--loop", "uvloop", "--log-level", "warning"]
    factory = ["--factory"] if target.startswith("oppflow.") else []
    granian = str(Path(sys.executable).with_name("granian"))
    return [granian, *options, "--no-access-log", *factory, target, *address]


def server_command(server: str, app: str, port: int, workers: int) -> list[str]:
    """``app`` is ``oppflow`` (the product) or ``bare`` (``bench/bare.py``, the floor)."""
    target = "oppflow.api.app:served_app" if app == "oppflow" else "bare:app"
    if server == "granian":
        return granian_command(target, port, workers)
    if app == "oppflow":
        return oppflow_command(port, workers)
    return uvicorn_command(target, port, workers)


# The session id (the first process's pid) of each server ``serve`` started, by base URL: its
# workers' CPU time is read from /proc by it.
SERVER_SESSIONS: dict[str, int] = {}


def session_cpu_seconds(session_id: int) -> float:
    """The CPU time used so far by every thread of every process of a session (a server and
    its workers), from the scheduler's nanosecond counts (utime's 10 ms ticks are too coarse
    for requests of a fraction of a millisecond)."""
    nanoseconds = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != session_id:  # state, ppid, pgrp, session
                continue
            for task in stat.parent.glob("task/*/schedstat"):
                nanoseconds += int(task.read_text().split()[0])
        except OSError:  # the process or thread ended meanwhile
            continue
    return nanoseconds / 1e9


@contextmanager
def serve(
    database_url: str,
    workdir: Path,
    *,
    workers: int = 1,
    server: str = "uvicorn",
    app: str = "oppflow",
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """``app`` under ``server`` with ``workers`` processes (and ``extra_env`` in its
    environment), in another process group; yields its base URL once it answers, and stops
    every process of the group on the way out."""
    port = free_port()
    env = {
        **os.environ,
        "OPPFLOW_DATABASE_URL": database_url,
        "OPPFLOW_DATA_DIR": str(workdir),
        **(extra_env or {}),
    }
    if app == "bare":  # bench/ on the path, so that the server can import bare.py
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), env.get("PYTHONPATH")]))
    command = server_command(server, app, port, workers)
    log_path = workdir / f"{server}-{app}-{workers}.log"
    base_url = f"http://127.0.0.1:{port}"
    with running(command, env, log_path, f"{base_url}{probe_path(app)}") as server:
        SERVER_SESSIONS[base_url] = server.pid
        yield base_url


@contextmanager
def running(
    command: list[str], env: dict[str, str], log_path: Path, probe: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in a process group of its own, logging to ``log_path``, until ``probe``
    answers; every process of the group is stopped on the way out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_healthy(probe, process, log_path)
            yield process
        finally:
            stop(process)


def probe_path(app: str) -> str:
    return "/healthz" if app == "oppflow" else "/"


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once ``url`` answers; stop the run if the server dies or stays silent."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server exited ({server.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop(server)
    raise SystemExit(f"The server did not answer {url} within 30 s:\n{log.read_text()}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the supervisor (it stops its workers), then SIGKILL to whatever of the
    process group outlives it, so that no worker is left serving."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)


# Databases ----------------------------------------------------------------------------------


def postgres_url(schema: str) -> str | None:
    """A freshly recreated ``schema``, or None when PostgreSQL does not answer."""
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
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def migrate_and_seed(url: str, count: int) -> tuple[Seeded, sessionmaker[Session]]:
    """Migrate the database at ``url`` and seed ``count`` opportunities; the caller disposes of
    the factory's engine."""
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
    return seeded, factory


def commit_label() -> str:
    """The commit measured, marked ``+dirty`` when ``src/`` has uncommitted changes (other
    engineers edit it while benchmarks run, and the server imports the working tree)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=BENCH_DIR, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--", "../src") else "")


# Replaying recorded statements (bench/move_floor.py, bench/bare.py) ---------------------------

Statements = list[tuple[str, Any, bool]]  # the SQL, its parameters, whether executemany


def replayed_moves(recording: str, database: str) -> Iterator[None]:
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
    """A connection with the SQLite settings of the product's that bear on writing (not its
    busy timeout: a replay has the file to itself)."""
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    pragmas = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL")
    for pragma in (*pragmas, f"wal_autocheckpoint={CHECKPOINT_IN_COMMIT_PAGES}"):
        connection.execute(f"PRAGMA {pragma}")
    return connection
