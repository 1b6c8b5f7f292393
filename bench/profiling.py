"""Where a served app spends its time (``make profile``).

Seed a fresh database through the services (``bench/common.py``), then for each operation —
500 stage moves, 500 creates, 500 list pages of 50 — serve ``served_app()`` with one uvicorn
worker inside a pyinstrument profiler (this script, run again with ``--serve``), warm it up,
start the profiler through an extra route, send the requests one after the other, stop it.

Writes ``bench/profiles/<operation>.html`` (pyinstrument's call tree and timeline) and
``<operation>.speedscope.json`` (a flame graph: open it on https://www.speedscope.app), and
prints per operation the time by package and the top functions by own and cumulative time.
The profiler samples the worker's wall clock: time spent waiting on the database, with the
event loop blocked, is the frames of the driver; time the loop idles between requests (waiting
on the client) is left out.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from common import (
    BENCH_DIR,
    Seeded,
    commit_label,
    console,
    free_port,
    migrate_and_seed,
    postgres_url,
    running,
)

POSTGRES_SCHEMA = "oppflow_profile"
PROFILES = BENCH_DIR / "profiles"
CONTROL = "/__profile"
WARMUP = 30
TOP = 12
# Samples whose innermost frame is one of these are the event loop waiting for a request.
IDLE_LEAVES = ("run_until_complete", "run_forever", "run", "serve", "_serve", "select", "poll")
PACKAGES = ("oppflow", "sqlalchemy", "psycopg", "pydantic", "fastapi", "starlette", "uvicorn")


# The profiled server (this script with --serve) ---------------------------------------------


def serve_profiled(port: int, interval: float) -> None:
    """``served_app()`` (as ``oppflow serve`` runs it) under uvicorn in this process, with two
    routes that start the profiler and stop it, saving its session and renderings under the
    names the client posts."""
    import uvicorn
    from pyinstrument import Profiler
    from pyinstrument.renderers import HTMLRenderer, SpeedscopeRenderer

    from oppflow.api.app import served_app

    app = served_app()
    profiler = Profiler(interval=interval, async_mode="disabled")

    async def start() -> dict[str, str]:
        profiler.reset()
        profiler.start()
        return {"status": "profiling"}

    async def finish(name: str) -> dict[str, str]:
        session = profiler.stop()
        session.save(PROFILES / f"{name}.pyisession")
        (PROFILES / f"{name}.html").write_text(HTMLRenderer().render(session))
        (PROFILES / f"{name}.speedscope.json").write_text(SpeedscopeRenderer().render(session))
        return {"status": "saved"}

    app.add_api_route(f"{CONTROL}/start", start, methods=["POST"])
    app.add_api_route(f"{CONTROL}/stop/{{name}}", finish, methods=["POST"])
    # A route added after the catch-all of the web pages would never be reached: move ours first.
    app.router.routes[:0] = [app.router.routes.pop(), app.router.routes.pop()]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def profiled_server(url: str, workdir: Path, interval: float) -> Iterator[str]:
    """This script with ``--serve`` in another process, on the database at ``url``."""
    port = free_port()
    env = {**os.environ, "OPPFLOW_DATABASE_URL": url, "OPPFLOW_DATA_DIR": str(workdir)}
    command = [sys.executable, __file__, "--serve", str(port), "--interval", str(interval)]
    base_url = f"http://127.0.0.1:{port}"
    with running(command, env, workdir / "profiled-server.log", f"{base_url}/healthz"):
        yield base_url


# The operations ------------------------------------------------------------------------------

Send = Callable[[httpx.Client, int], httpx.Response]


def mover(ids: list[str]) -> Send:
    """Next (Qualify → Develop), then previous, on opportunities whose Qualify steps are filled."""
    advanced: set[str] = set()

    def send(client: httpx.Client, index: int) -> httpx.Response:
        opportunity = ids[index % len(ids)]
        kind = "previous" if opportunity in advanced else "next"
        response = client.post(f"/api/v1/opportunities/{opportunity}/process/{kind}")
        advanced.symmetric_difference_update({opportunity} if response.is_success else set())
        return response

    return send


def creator(seeded: Seeded) -> Send:
    """New opportunities with the fields the demo data fills, on the seeded customers."""
    rng = random.Random(7)

    def send(client: httpx.Client, index: int) -> httpx.Response:
        account, contact = seeded.customers.pick(rng)
        closing = date(2026, 12, 4) + timedelta(days=rng.randrange(15, 240))
        body: dict[str, Any] = {
            "name": f"{rng.randrange(5, 200)} laptops, profile {index:05d}",
            "account_id": str(account),
            "contact_id": str(contact),
            "estimated_value": str(rng.randrange(5, 500) * 1000),
            "estimated_close_date": closing.isoformat(),
            "probability": rng.choice([10, 20, 30]),
            "rating": rng.choice(["hot", "warm", "cold"]),
            "description": "Replace the ageing fleet before the audit.",
        }
        return client.post("/api/v1/opportunities", json=body)

    return send


def pager() -> Send:
    """List pages of 50, following ``next_cursor`` and starting over at the end."""
    cursor: list[str | None] = [None]

    def send(client: httpx.Client, _index: int) -> httpx.Response:
        params: dict[str, str | int] = {"limit": 50}
        if cursor[0]:
            params["cursor"] = cursor[0]
        response = client.get("/api/v1/opportunities", params=params)
        if response.is_success:
            cursor[0] = response.json()["next_cursor"]
        return response

    return send


def getter(ids: list[str]) -> Send:
    """One opportunity at a time, round the seeded ones."""

    def send(client: httpx.Client, index: int) -> httpx.Response:
        return client.get(f"/api/v1/opportunities/{ids[index % len(ids)]}")

    return send


def operations(seeded: Seeded) -> dict[str, Send]:
    return {
        "move": mover(seeded.movable_ids),
        "create": creator(seeded),
        "get": getter(seeded.movable_ids),
        "list": pager(),
    }


# Profiling ------------------------------------------------------------------------------------


@dataclass
class Profiled:
    name: str
    requests: int
    elapsed: float  # the client's wall clock over the profiled requests


def checked(response: httpx.Response) -> httpx.Response:
    if not response.is_success:
        request = response.request
        raise SystemExit(f"{request.method} {request.url}: {response.status_code} {response.text}")
    return response


def profile_one(
    name: str, send: Send, url: str, seeded: Seeded, args: argparse.Namespace, workdir: Path
) -> Profiled:
    """A fresh server per operation, so that each profile holds that operation alone."""
    headers = {"Authorization": f"Bearer {seeded.token}"}
    with (
        profiled_server(url, workdir, args.interval) as base_url,
        # Writing a profile's call tree takes seconds, more on a loaded machine.
        httpx.Client(base_url=base_url, headers=headers, timeout=300) as client,
    ):
        for index in range(WARMUP):
            checked(send(client, index))
        checked(client.post(f"{CONTROL}/start"))
        started = time.perf_counter()
        with console.status(f"{name}: {args.requests} requests under the profiler"):
            for index in range(WARMUP, WARMUP + args.requests):
                checked(send(client, index))
        elapsed = time.perf_counter() - started
        checked(client.post(f"{CONTROL}/stop/{name}"))
    return Profiled(name, args.requests, elapsed)


# Reading the profiles ---------------------------------------------------------------------------


@dataclass
class Costs:
    """Seconds per function (own and cumulative) and per package, idle samples left out."""

    own: Counter[str]
    cumulative: Counter[str]
    packages: Counter[str]
    busy: float


def costs(name: str) -> Costs:
    from pyinstrument.session import Session

    session = Session.load(PROFILES / f"{name}.pyisession")
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for stack, seconds in session.frame_records:
        frames = [label(identifier) for identifier in stack[1:]]  # [0] is the thread
        if not frames or frames[-1].split(" ")[0] in IDLE_LEAVES:
            continue
        own[frames[-1]] += seconds
        packages[package(stack[-1])] += seconds
        for frame in set(frames):  # once per sample, however deep the recursion
            cumulative[frame] += seconds
    return Costs(own, cumulative, packages, sum(own.values()))


def label(identifier: str) -> str:
    """``function (path:line)``, the path from its package down."""
    function, path, line = [*identifier.split("\x00"), "", ""][:3]
    short = path
    for marker in ("site-packages/", "/src/", "/lib/python"):
        if marker in path:
            short = path.split(marker, 1)[1]
            break
    return f"{function} ({short}:{line.split(chr(1))[0]})"


def package(identifier: str) -> str:
    path = identifier.split("\x00")[1] if "\x00" in identifier else ""
    for name in PACKAGES:
        if f"/{name}/" in path:
            return name
    if path.startswith("<built-in>"):
        return "built-in (C)"
    return "python stdlib" if "/lib/python" in path else "other"


def report(profiled: Profiled, found: Costs) -> None:
    per_request = found.busy / profiled.requests * 1000
    console.rule(
        f"[bold]{profiled.name}[/]: {profiled.requests} requests, "
        f"{profiled.elapsed / profiled.requests * 1000:.2f} ms each at the client, "
        f"{per_request:.2f} ms busy in the worker"
    )
    console.print(share_table("package (own time)", found.packages, found, profiled))
    console.print(share_table("function, own time", found.own, found, profiled))
    # The outermost frames are ~100 % of every request; only below 95 % does it say something.
    inner = Counter({k: v for k, v in found.cumulative.items() if v < 0.95 * found.busy})
    console.print(share_table("function, cumulative time (under 95 %)", inner, found, profiled))
    ours = Counter({k: v for k, v in found.cumulative.items() if "(oppflow/" in k})
    console.print(share_table("oppflow function, cumulative time", ours, found, profiled))


def share_table(title: str, seconds: Counter[str], found: Costs, profiled: Profiled) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("where", overflow="fold")
    for column in ("ms/request", "% of busy"):
        table.add_column(column, justify="right")
    for where, spent in seconds.most_common(TOP):
        share = spent / found.busy * 100
        table.add_row(where, f"{spent / profiled.requests * 1000:.3f}", f"{share:.1f}")
    return table


# Command line -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=500, help="profiled requests per operation")
    parser.add_argument("--opportunities", type=int, default=2000, help="opportunities to seed")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling interval, s")
    parser.add_argument("--only", choices=("move", "create", "get", "list"), action="append")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


def database_url(choice: str, workdir: Path) -> str:
    if choice == "sqlite":
        return f"sqlite:///{workdir / 'profile.db'}"
    url = postgres_url(POSTGRES_SCHEMA)
    if url is None:
        raise SystemExit("PostgreSQL does not answer: try --database sqlite")
    return url


def main() -> None:
    args = parse_args()
    if args.serve:
        serve_profiled(args.serve, args.interval)
        return
    PROFILES.mkdir(exist_ok=True)
    console.print(f"commit {commit_label()}, {args.database}, one uvicorn worker, pyinstrument")
    with tempfile.TemporaryDirectory(prefix="oppflow-profile-") as directory:
        workdir = Path(directory)
        url = database_url(args.database, workdir)
        seeded, factory = migrate_and_seed(url, args.opportunities)
        factory.kw["bind"].dispose()
        for name, send in operations(seeded).items():
            if args.only and name not in args.only:
                continue
            report(profile_one(name, send, url, seeded, args, workdir), costs(name))
    console.print(f"Call trees and flame graphs: {PROFILES}/")


if __name__ == "__main__":
    main()
