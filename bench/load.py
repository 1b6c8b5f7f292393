"""The API under concurrent clients (``make bench``, after ``bench/api.py``).

For each database: migrate a fresh schema, seed it through the services (``bench/common.py``),
then for each server (uvicorn through ``oppflow serve``; granian with ``--server granian``) and
each worker count, serve the bare app (``bench/bare.py``, the floor) and the product one after
the other, and drive each with 1, 8 and 32 concurrent keep-alive clients for a fixed time:

* 70 % reads: GET one opportunity (35 %), a list page of 50 walking ``next_cursor`` (35 %);
* 20 % field updates: PATCH description or rating, half with the ``If-Match`` of the version
  the client last read of it, half without;
* 10 % stage moves: ``process/next`` or ``process/previous`` on opportunities at Qualify whose
  steps are filled.

409 (concurrent change, refused move) and 412 (stale ``If-Match``) are counted; any other
answer other than 2xx fails the run. The client is one asyncio process speaking HTTP/1.1 on raw
streams (no HTTP library: it must cost far less than the server, on the same 2 CPUs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import uvloop
from rich.table import Table

from common import SERVERS, Seeded, commit_label, console, migrate_and_seed, postgres_url, serve

POSTGRES_SCHEMA = "oppflow_load"
CLIENTS = (1, 8, 32)
WORKERS = (1, 2)
SCALING_CLIENTS = 8
ARRIVAL = 0.02  # seconds between two clients' connections
TARGET_SCALING = 1.6
MIX = (("get", 35), ("list", 35), ("patch", 20), ("move", 10))
EXPECTED = (409, 412)
OPPORTUNITIES = "/api/v1/opportunities"
CURSOR = re.compile(rb'"next_cursor":\s*("(?:[^"\\]|\\.)*"|null)')


# HTTP/1.1 on raw streams --------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[bytes, bytes]
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time, reopened if the server
    closes it; only what uvicorn's and granian's answers need (Content-Length or chunked)."""

    def __init__(self, base_url: str, token: str | None) -> None:
        parts = urlsplit(base_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.fixed = f"Host: {parts.netloc}\r\n{auth}".encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def connect(self) -> None:
        self.streams = await asyncio.open_connection(*self.address)

    async def request(self, method: str, path: str, body: bytes = b"", headers: str = "") -> Reply:
        if self.streams is None:
            await self.connect()
        assert self.streams is not None
        reader, writer = self.streams
        length = (
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
        )
        head = f"{method} {path} HTTP/1.1\r\n{headers}{length}".encode()
        writer.write(head + self.fixed + b"\r\n" + body)
        reply = await read_reply(reader)
        if reply.headers.get(b"connection", b"").lower() == b"close":
            await self.close()
        return reply

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = await read_chunks(reader)
    else:
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return Reply(int(lines[0].split()[1]), headers, body)


async def read_chunks(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append((await reader.readexactly(size + 2))[:-2])
    await reader.readuntil(b"\r\n")  # the empty trailer
    return b"".join(chunks)


def next_cursor(body: bytes) -> str | None:
    """The page's ``next_cursor`` without parsing its 50 records (the client's main cost)."""
    found = CURSOR.search(body, max(len(body) - 1000, 0))
    if found is None:
        return json.loads(body)["next_cursor"]  # not where expected: the slow, sure way
    return json.loads(found[1])


# The clients --------------------------------------------------------------------------------


@dataclass
class Shared:
    """What every client of the product sees: the seeded ids, and which movable opportunities
    stand on Develop as last answered (a move's direction follows it)."""

    seeded: Seeded
    open_ids: set[str] = field(init=False)
    advanced: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.open_ids = set(self.seeded.open_ids)


class BareClient:
    def __init__(self, connection: Connection, rng: random.Random) -> None:
        self.connection = connection

    async def one(self) -> tuple[str, Reply]:
        return "get", await self.connection.request("GET", "/")


class MixClient:
    """One user of the product: reads, edits and moves in the proportions of ``MIX``."""

    def __init__(self, connection: Connection, rng: random.Random, shared: Shared) -> None:
        self.connection, self.rng, self.shared = connection, rng, shared
        self.cursor: str | None = None
        self.etags: dict[str, bytes] = {}  # the version this client last read of a record
        self.kinds, self.weights = zip(*MIX, strict=True)

    async def one(self) -> tuple[str, Reply]:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        send = {"get": self.get, "list": self.list_page, "patch": self.patch, "move": self.move}
        return kind, await send[kind]()

    async def get(self) -> Reply:
        opportunity = self.rng.choice(self.shared.seeded.sample_ids)
        reply = await self.connection.request("GET", f"{OPPORTUNITIES}/{opportunity}")
        if reply.status == 200:
            self.etags[opportunity] = reply.headers[b"etag"]
        return reply

    async def list_page(self) -> Reply:
        cursor = f"&cursor={quote(self.cursor)}" if self.cursor else ""
        reply = await self.connection.request("GET", f"{OPPORTUNITIES}?limit=50{cursor}")
        if reply.status == 200:
            self.cursor = next_cursor(reply.body)
        return reply

    async def patch(self) -> Reply:
        """Half the time the edit of a record this client read (``If-Match``), else blind."""
        read = [i for i in self.etags if i in self.shared.open_ids]
        if read and self.rng.random() < 0.5:
            opportunity = self.rng.choice(read)
            headers = f"If-Match: {self.etags[opportunity].decode()}\r\n"
        else:
            opportunity, headers = self.rng.choice(self.shared.seeded.open_ids), ""
        change = self.rng.choice(
            [
                {"rating": self.rng.choice(["hot", "warm", "cold"])},
                {"description": f"{time.time()}"},
            ]
        )
        path = f"{OPPORTUNITIES}/{opportunity}"
        reply = await self.connection.request("PATCH", path, json.dumps(change).encode(), headers)
        self.remember(opportunity, reply)
        return reply

    def remember(self, opportunity: str, reply: Reply) -> None:
        if reply.status == 200:
            self.etags[opportunity] = reply.headers[b"etag"]
        elif reply.status == 412:
            self.etags.pop(opportunity, None)

    async def move(self) -> Reply:
        """Next from Qualify, previous from Develop; a refusal (409) tells where it stands."""
        opportunity = self.rng.choice(self.shared.seeded.movable_ids)
        advanced = opportunity in self.shared.advanced
        kind = "previous" if advanced else "next"
        path = f"{OPPORTUNITIES}/{opportunity}/process/{kind}"
        reply = await self.connection.request("POST", path)
        if reply.status == 200:
            advanced = json.loads(reply.body)["active_stage"]["key"] != "qualify"
        elif reply.status == 409:
            advanced = not advanced
        (self.shared.advanced.add if advanced else self.shared.advanced.discard)(opportunity)
        return reply


# Measuring ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """The requests of one configuration: timings of those started in the measured window,
    statuses of every one (warm-up included), the unexpected answers and the client's CPU."""

    seconds: float
    timings: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    sent: int = 0
    client_cpu: float = 0.0
    spread: str = "?"

    def add(self, kind: str, reply: Reply, elapsed: float | None) -> None:
        self.sent += 1
        self.statuses[reply.status] += 1
        if not 200 <= reply.status < 300 and reply.status not in EXPECTED:
            self.errors.append(f"{kind}: {reply.status} {reply.body[:300]!r}")
        if elapsed is not None:
            self.timings.setdefault(kind, []).append(elapsed)

    def rate(self, kind: str | None = None) -> float:
        kinds = [kind] if kind else list(self.timings)
        return sum(len(self.timings.get(k, [])) for k in kinds) / self.seconds

    def percentile_ms(self, percent: int, kind: str | None = None) -> float:
        values = (
            self.timings.get(kind, []) if kind else [t for v in self.timings.values() for t in v]
        )
        if len(values) < 2:
            return float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000

    @property
    def client_us(self) -> float:
        return self.client_cpu / max(self.sent, 1) * 1e6


async def drive_one(
    client: BareClient | MixClient, tally: Tally, arrival: float, start: float, end: float
) -> None:
    """Requests back to back until ``end``; those begun before ``start`` are the warm-up.
    Clients arrive one after the other (``arrival``), while the others keep the workers busy,
    as users do: opened at once on idle workers, every connection would land on whichever
    uvicorn worker accepts first."""
    await asyncio.sleep(arrival)
    await client.connection.connect()
    while (before := time.perf_counter()) < end:
        kind, reply = await client.one()
        tally.add(kind, reply, time.perf_counter() - before if before >= start else None)


async def drive(
    base_url: str, token: str | None, shared: Shared | None, clients: int, args: argparse.Namespace
) -> Tally:
    """``clients`` concurrent clients, each on its own connection, for warm-up + duration."""
    tally = Tally(args.duration)
    connections = [Connection(base_url, token) for _ in range(clients)]
    users = [
        MixClient(c, random.Random(n), shared) if shared else BareClient(c, random.Random(n))
        for n, c in enumerate(connections)
    ]
    cpu = time.process_time()
    start = time.perf_counter() + args.warmup
    end = start + args.duration
    await asyncio.gather(
        *(drive_one(user, tally, n * ARRIVAL, start, end) for n, user in enumerate(users)),
        note_spread(tally, urlsplit(base_url).port or 80, start),
    )
    tally.client_cpu = time.process_time() - cpu
    for connection in connections:
        await connection.close()
    return tally


async def note_spread(tally: Tally, port: int, start: float) -> None:
    """How the connections spread over the server's processes, as the measuring begins."""
    await asyncio.sleep(max(start - time.perf_counter() - 0.1, 0))
    tally.spread = spread(port)


def spread(port: int) -> str:
    """Established connections per server process, from ``ss`` (e.g. ``4/4``); ``?`` without."""
    if shutil.which("ss") is None:
        return "?"
    query = ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"]
    lines = subprocess.run(query, capture_output=True, text=True, check=False).stdout.splitlines()
    per_process = Counter(line.split("pid=")[1].split(",")[0] for line in lines if "pid=" in line)
    return "/".join(str(n) for n in sorted(per_process.values(), reverse=True)) or "?"


def measure(base_url: str, shared: Shared | None, args: argparse.Namespace) -> dict[int, Tally]:
    """Every client count against the server at ``base_url``; stop at an unexpected answer."""
    token = shared.seeded.token if shared else None
    tallies: dict[int, Tally] = {}
    for clients in args.clients:
        what = "product" if shared else "bare app"
        with console.status(f"{what}: {clients} client(s) for {args.warmup + args.duration:g} s"):
            tallies[clients] = uvloop.run(drive(base_url, token, shared, clients, args))
        if tallies[clients].errors:
            raise SystemExit("Unexpected answers:\n" + "\n".join(tallies[clients].errors[:10]))
    return tallies


# Running ------------------------------------------------------------------------------------

Key = tuple[str, int]  # (server, workers)


@dataclass
class Run:
    """Every measurement of one database: bare and product tallies per (server, workers)."""

    database: str
    bare: dict[Key, dict[int, Tally]] = field(default_factory=dict)
    product: dict[Key, dict[int, Tally]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)


def run_database(name: str, url: str, args: argparse.Namespace, workdir: Path) -> Run:
    """Seed, then measure the floor and the product under each server and worker count."""
    console.rule(f"[bold]{name}")
    seeded, factory = migrate_and_seed(url, args.opportunities)
    factory.kw["bind"].dispose()
    shared = Shared(seeded)
    run = Run(name)
    start_load = os.getloadavg()[0]
    for server in args.servers:
        for workers in workers_for(name, args):
            key = (server, workers)
            with serve(url, workdir, workers=workers, server=server, app="bare") as base_url:
                run.bare[key] = measure(base_url, None, args)
            with serve(url, workdir, workers=workers, server=server) as base_url:
                run.product[key] = measure(base_url, shared, args)
    run.load = (start_load, os.getloadavg()[0])
    return run


def workers_for(database: str, args: argparse.Namespace) -> tuple[int, ...]:
    # SQLite takes one writer at a time: a second worker would only queue on its lock.
    return (1,) if database == "SQLite" else tuple(args.workers)


# Reporting ----------------------------------------------------------------------------------


def caption(run: Run, server: str, args: argparse.Namespace, commit: str) -> str:
    bare = max(t.client_us for (s, _), ts in run.bare.items() if s == server for t in ts.values())
    return (
        f"commit {commit}; {args.duration:g} s measured after {args.warmup:g} s warm-up. "
        f"Client CPU per request: the column, and at most {bare:.0f} µs on the bare app "
        f"(≈ {1e6 / bare:,.0f} req/s per CPU). "
        f"On {os.cpu_count()} CPUs shared by the server workers, PostgreSQL and the client "
        f"(one asyncio process, one keep-alive connection per client; accepted: connections "
        f"per server process as measuring began); "
        f"load average {run.load[0]:.2f} → {run.load[1]:.2f}"
    )


def report_server(run: Run, server: str, args: argparse.Namespace, commit: str) -> None:
    """One table per server: every (workers, clients) of the product against the bare app."""
    table = Table(
        title=f"{run.database}, {server}: 70 % reads, 20 % updates, 10 % stage moves",
        caption=caption(run, server, args, commit),
    )
    columns = (
        "workers",
        "clients",
        "accepted",
        "req/s",
        "bare req/s",
        "× bare",
        "p50 ms",
        "p99 ms",
    )
    more = ("moves/s", "move p50", "move p99", "409", "412", "client µs/req")
    for column in (*columns, *more):
        table.add_column(column, justify="right")
    for (name, workers), tallies in run.product.items():
        if name != server:
            continue
        for clients, tally in tallies.items():
            bare = run.bare[(name, workers)][clients]
            table.add_row(*row(workers, clients, tally, bare))
    console.print(table)


def row(workers: int, clients: int, tally: Tally, bare: Tally) -> list[str]:
    return [
        str(workers),
        str(clients),
        tally.spread,
        f"{tally.rate():,.0f}",
        f"{bare.rate():,.0f}",
        f"{tally.rate() / bare.rate():.3f}",
        f"{tally.percentile_ms(50):.1f}",
        f"{tally.percentile_ms(99):.1f}",
        f"{tally.rate('move'):,.1f}",
        f"{tally.percentile_ms(50, 'move'):.1f}",
        f"{tally.percentile_ms(99, 'move'):.1f}",
        str(tally.statuses[409]),
        str(tally.statuses[412]),
        f"{tally.client_us:.0f}",
    ]


def report_scaling(run: Run, args: argparse.Namespace) -> None:
    """2 workers / 1 worker at 8 clients, for the total and for stage moves."""
    table = Table(title=f"{run.database}: 2 workers / 1 worker at {SCALING_CLIENTS} clients")
    for column in ("server", "measure", "1 worker", "2 workers", "ratio", f"≥ {TARGET_SCALING}×"):
        table.add_column(column, justify="right")
    for server in args.servers:
        one = run.product.get((server, 1), {}).get(SCALING_CLIENTS)
        two = run.product.get((server, 2), {}).get(SCALING_CLIENTS)
        if one is None or two is None:
            continue
        for label, kind in (("total req/s", None), ("stage moves/s", "move")):
            ratio = two.rate(kind) / one.rate(kind)
            verdict = "yes" if ratio >= TARGET_SCALING else "no"
            cells = (f"{one.rate(kind):,.1f}", f"{two.rate(kind):,.1f}", f"{ratio:.2f}×", verdict)
            table.add_row(server, label, *cells)
    if table.row_count:
        console.print(table)


def report_servers(run: Run, args: argparse.Namespace) -> None:
    """granian against uvicorn, product and bare app, for every (workers, clients)."""
    if len(args.servers) < 2:
        return
    table = Table(title=f"{run.database}: granian / uvicorn (req/s)")
    columns = ("workers", "clients", "uvicorn", "granian", "ratio", "bare uvicorn", "bare granian")
    for column in (*columns, "bare ratio"):
        table.add_column(column, justify="right")
    for (server, workers), tallies in run.product.items():
        if server != "uvicorn" or ("granian", workers) not in run.product:
            continue
        for clients, uvicorn in tallies.items():
            granian = run.product[("granian", workers)][clients]
            bare_u, bare_g = (
                run.bare[(server, workers)][clients],
                run.bare[("granian", workers)][clients],
            )
            rates = (uvicorn.rate(), granian.rate(), bare_u.rate(), bare_g.rate())
            cells = [f"{rate:,.0f}" for rate in rates]
            ratios = (f"{rates[1] / rates[0]:.2f}", f"{rates[3] / rates[2]:.2f}")
            table.add_row(str(workers), str(clients), *cells[:2], ratios[0], *cells[2:], ratios[1])
    console.print(table)


# Command line -------------------------------------------------------------------------------


def counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before")
    parser.add_argument("--clients", type=counts, default=list(CLIENTS), help="e.g. 1,8,32")
    parser.add_argument("--workers", type=counts, default=list(WORKERS), help="e.g. 1,2")
    parser.add_argument("--opportunities", type=int, default=2000, help="opportunities to seed")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql", "both"), default="postgresql"
    )
    parser.add_argument(
        "--server",
        choices=SERVERS,
        action="append",
        default=[],
        help="granian: measure it as well as uvicorn (always measured, the reference)",
    )
    args = parser.parse_args()
    args.servers = ["uvicorn", *(s for s in SERVERS[1:] if s in args.server)]
    if args.duration <= 0 or args.opportunities < 100:
        parser.error("--duration must be positive and --opportunities at least 100")
    if args.warmup < max(args.clients) * ARRIVAL + 0.5:
        parser.error(f"--warmup must leave every client time to arrive ({ARRIVAL} s apart)")
    return args


def databases(choice: str, workdir: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    if choice in ("postgresql", "both") and (url := postgres_url(POSTGRES_SCHEMA)):
        found["PostgreSQL"] = url
    if choice in ("sqlite", "both"):
        found["SQLite"] = f"sqlite:///{workdir / 'load.db'}"
    return found


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="oppflow-load-") as directory:
        yield Path(directory)


def main() -> None:
    args = parse_args()
    commit = commit_label()
    with workspace() as workdir:
        for name, url in databases(args.database, workdir).items():
            run = run_database(name, url, args, workdir)
            for server in args.servers:
                report_server(run, server, args, commit)
            report_scaling(run, args)
            report_servers(run, args)


if __name__ == "__main__":
    main()
