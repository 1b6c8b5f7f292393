"""The web UI at size (issue 14): the pickers' search and the pages the issue touches.

On the analytics bench's data set (``bench/analytics.py``: the bulk demo generator's
opportunities, cached by size and seed), plus ``--accounts`` accounts bulk-inserted once (Core,
owned round-robin by the generator's salespeople). Times, as the administrator and as a
salesperson: the lookup service's account and contact searches in-process (each in its own unit
of work, as a request is), then over HTTP (Starlette's TestClient, after a log-in): the pickers'
JSON, the opportunity list, an opportunity page, the board and a column shown to 200 cards, the
administration pages and the profile; and every list view × sort × direction in-process
(``--only lists`` for these alone). Medians of ``--repeat`` calls after one untimed call.
Prints numbers; asserts nothing (targets: searches under 100 ms, pages under 300 ms).

    .venv/bin/python bench/web_ui.py --opportunities 1000000 --accounts 100000 --database sqlite
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.table import Table
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from analytics import (
    USERS,
    _actor,
    _ok,
    _web_log_in,
    median_seconds,
    postgres_dataset,
    sqlite_dataset,
)
from common import commit_label, console
from oppflow import migrate
from oppflow.analytics import service as analytics
from oppflow.analytics.schemas import ListView, OpportunitySearch, SortKey
from oppflow.api.app import create_app
from oppflow.db import make_engine, unit_of_work
from oppflow.lookup import service as lookup
from oppflow.models import Account, Opportunity, User
from oppflow.security.actor import Actor

PREFIX = "Bench account"
SEARCHES = ("b", "bench account 04", "bench account 042424", "zzz")
LIST_VIEWS: tuple[ListView, ...] = ("open", "closed", "all", "my_open", "member")
LIST_SORTS: tuple[SortKey, ...] = (
    "estimated_close_date", "name", "estimated_value", "probability", "pipeline_phase",
    "modified_at", "created_at",
)  # fmt: skip
CHUNK = 10_000
VACUUMED = (
    "opportunities", "accounts", "contacts", "users", "record_shares", "opportunity_sales_team",
    "pipeline_totals", "total_deltas",
)  # fmt: skip


def add_accounts(factory: sessionmaker[Session], count: int) -> None:
    """``count`` accounts named "Bench account 000000"…, unless they are there already."""
    with unit_of_work(factory) as session:
        have = session.scalar(select(func.count()).where(Account.name.like(f"{PREFIX}%")))
        if have and have >= count:
            return
        owners = list(session.execute(select(User.id, User.business_unit_id).where(User.is_active)))
    for start in range(0, count, CHUNK):
        with unit_of_work(factory) as session:
            rows = [
                {
                    "id": uuid.uuid4(),
                    "name": f"{PREFIX} {number:06d}",
                    "owner_id": owners[number % len(owners)].id,
                    "owning_business_unit_id": owners[number % len(owners)].business_unit_id,
                }
                for number in range(start, min(count, start + CHUNK))
            ]
            session.execute(insert(Account), rows)
    console.print(f"Added {count:,} accounts.")


def vacuum(engine: Engine) -> None:
    """``VACUUM ANALYZE`` the tables the pages read, as autovacuum would after the bulk load
    (the test server runs without it): without a visibility map no scan is index-only."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in VACUUMED:
            connection.execute(text(f'VACUUM ANALYZE "{table}"'))


def _search(
    factory: sessionmaker[Session], username: str, kind: str, query: str
) -> Callable[[], Any]:
    actor = _actor(factory, username)

    def call() -> Any:
        with unit_of_work(factory) as session:
            return lookup.search(session, actor, kind, query)  # type: ignore[arg-type]

    return call


def time_searches(factory: sessionmaker[Session], repeat: int) -> list[tuple[str, list[float]]]:
    rows = []
    for kind in ("account", "contact"):
        for query in SEARCHES:
            times = [
                median_seconds(_search(factory, username, kind, query), repeat)
                for _, username in USERS
            ]
            rows.append((f"search {kind} {query!r}", times))
    return rows


def time_pages(factory: sessionmaker[Session], repeat: int) -> list[tuple[str, list[float]]]:
    salesperson = _actor(factory, USERS[1][1]).user_id
    with unit_of_work(factory) as session:
        # One the salesperson owns, so that both users may open it.
        owned = (Opportunity.state == "open", Opportunity.owner_id == salesperson)
        sample = session.scalar(select(Opportunity.id).where(*owned).limit(1))
    pages = {
        "GET /lookup/account?q=bench account 0424 (JSON)": (
            "/lookup/account?q=bench%20account%200424",
            {"X-Oppflow-Fetch": "1"},
        ),
        "GET /lookup/contact?q=a (JSON)": ("/lookup/contact?q=a", {"X-Oppflow-Fetch": "1"}),
        "page /opportunities?view=open": ("/opportunities?view=open", {}),
        "page /opportunities?view=open&per_page=200": ("/opportunities?view=open&per_page=200", {}),
        "page /opportunities/{id}": (f"/opportunities/{sample}", {}),
        "page /leads (open)": ("/leads", {}),
        "page /opportunities?view=all&sort=name": ("/opportunities?view=all&sort=name", {}),
        "page /opportunities?view=closed&sort=name": ("/opportunities?view=closed&sort=name", {}),
        "page /board": ("/board", {}),
        "page /board?show=1-Qualify&count=200": ("/board?show=1-Qualify&count=200", {}),
        "page /profile": ("/profile", {}),
        "page /admin": ("/admin", {}),
        "page /admin/roles/salesperson": ("/admin/roles/salesperson", {}),
    }
    found: dict[str, list[float]] = {name: [] for name in pages}
    with TestClient(create_app(factory)) as client:
        for _, username in USERS:
            client.cookies.clear()
            _web_log_in(client, username)
            for name, (url, headers) in pages.items():
                allowed = not url.startswith("/admin") or username == USERS[0][1]
                call = _getter(client, url, headers)
                found[name].append(median_seconds(call, repeat) if allowed else float("nan"))
    return list(found.items())


def _list_page(
    factory: sessionmaker[Session], actor: Actor, search: OpportunitySearch
) -> Callable[[], Any]:
    def call() -> Any:
        with unit_of_work(factory) as session:
            return analytics.search_opportunities(session, actor=actor, search=search)

    return call


def time_lists(factory: sessionmaker[Session], repeat: int) -> list[tuple[str, list[float]]]:
    """The first page (25 rows) of every list view, sort and direction, in-process."""
    actors = [_actor(factory, username) for _, username in USERS]
    rows = []
    for view in LIST_VIEWS:
        for sort in LIST_SORTS:
            for descending in (False, True):
                search = OpportunitySearch(view=view, sort=sort, descending=descending)
                times = [median_seconds(_list_page(factory, a, search), repeat) for a in actors]
                rows.append((f"list {view} by {sort}{' desc' if descending else ''}", times))
    return rows


def _getter(client: TestClient, url: str, headers: dict[str, str]) -> Callable[[], Any]:
    return lambda: _ok(client, url, headers)


def run_one(kind: str, url: str, accounts: int, repeat: int, only: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)  # a data set cached before this migration gets it
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    add_accounts(factory, accounts)
    if kind == "postgres":
        vacuum(engine)
    with unit_of_work(factory) as session:
        counts = {
            "opportunities": session.scalar(select(func.count()).select_from(Opportunity)),
            "accounts": session.scalar(select(func.count()).select_from(Account)),
        }
    table = Table(title=f"web UI on {kind} · {counts} · {commit_label()}")
    table.add_column("what")
    for label, _ in USERS:
        table.add_column(f"{label} (ms)", justify="right")
    timed = time_lists(factory, repeat)
    if only != "lists":
        timed = [*time_searches(factory, repeat), *time_pages(factory, repeat), *timed]
    for name, times in timed:
        table.add_row(name, *(f"{seconds * 1000:,.1f}" for seconds in times))
    console.print(table)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=("all", "lists"), default="all")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "oppflow-bench")
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    for kind in kinds:
        if kind == "sqlite":
            url: str | None = sqlite_dataset(args.cache_dir, args.opportunities, args.seed)
        else:
            url = postgres_dataset(args.opportunities, args.seed)
        if url is not None:
            run_one(kind, url, args.accounts, args.repeat, args.only)


if __name__ == "__main__":
    main()
