"""The pipeline reports at size: every report's time beside the raw GROUP BY of the same rows,
and the dashboard's and the board's page times (ANALYTICS.md §6).

The data set is made by the bulk demo generator (``oppflow.demo.bulk``) and kept for the next
run, keyed by its size and seed: a SQLite file under ``--cache-dir``, or on PostgreSQL the
schema ``oppflow_analytics_bench`` of the database ``test`` (its comment names the size and
seed it holds). Reports are timed in-process, each call in its own unit of work as a request
is, as the administrator and as a salesperson (who reads their own deals); pages through the
ASGI app (Starlette's TestClient) after a log-in through the log-in page. Each figure is the
median of ``--repeat`` calls after one untimed call, or the time of that one call when it took
longer than five seconds.

    .venv/bin/python bench/analytics.py                      # 1M on SQLite, 10M on PostgreSQL
    .venv/bin/python bench/analytics.py --opportunities 100000 --database sqlite
    .venv/bin/python bench/analytics.py --reports funnel,stale --repeat 5
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from common import POSTGRES_URL, commit_label, console
from oppflow.analytics import service
from oppflow.analytics.options import (
    CalibrationOptions,
    ConversionOptions,
    ForecastOptions,
    FunnelOptions,
    ReportFilters,
    TimeInStageOptions,
    WaterfallOptions,
)
from oppflow.api.app import create_app
from oppflow.clock import today
from oppflow.db import make_engine, unit_of_work
from oppflow.demo import bulk
from oppflow.install import prepare_database
from oppflow.models.base import Base
from oppflow.security import service as security_service
from oppflow.security.actor import Actor

SCHEMA = "oppflow_analytics_bench"
DEFAULT_SIZE = {"sqlite": 1_000_000, "postgres": 10_000_000}
USERS = (("administrator", bulk.ADMIN), ("salesperson", "sales-1-1"))
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
FRAGMENT = re.compile(r'data-fragment="([^"]+)"')
# PostgreSQL's settings that the reports' times at size depend on most.
SERVER_SETTINGS = ("shared_buffers", "work_mem", "effective_cache_size")
SLOW = 5.0  # seconds: a call slower than this is timed once

# The raw GROUP BY each report is set beside: the rows it reads, summed the plainest way.
OPEN_BY_PHASE = (
    "SELECT pipeline_phase, count(*), sum(estimated_value) FROM opportunities "
    "WHERE state = 'open' GROUP BY pipeline_phase"
)
LOG_BY_FIELD = "SELECT field, count(*) FROM opportunity_changes GROUP BY field"
OPEN_BY_STAGE = (
    "SELECT process_key, active_stage, count(*) FROM opportunities "
    "WHERE state = 'open' GROUP BY process_key, active_stage"
)
BY_CATEGORY = (
    "SELECT forecast_category, count(*), sum(estimated_value) FROM opportunities "
    "WHERE state IN ('open', 'won') GROUP BY forecast_category"
)
CLOSED_DEALS_BY_OUTCOME = "SELECT won, count(*) FROM closed_deals GROUP BY won"
STINTS_BY_STAGE = (
    "SELECT process_key, stage, count(*), sum(left_us - entered_us) FROM stage_stints "
    "GROUP BY process_key, stage"
)
MOVES_BY_PHASE = "SELECT phase, move, count(*) FROM phase_moves GROUP BY phase, move"
CLOSED_BY_REASON = (
    "SELECT state, status_reason, count(*), sum(actual_value) FROM opportunities "
    "WHERE state IN ('won', 'lost') GROUP BY state, status_reason"
)


@dataclass(frozen=True)
class Report:
    name: str
    service: Callable[..., Any]
    options: ReportFilters
    raw: str

    def run(self, session: Session, actor: Actor) -> Any:
        return self.service(session, actor=actor, options=self.options)


def _reports() -> list[Report]:
    past = (today() - timedelta(days=90)).isoformat()
    return [
        Report("funnel", service.funnel_report, FunnelOptions(), OPEN_BY_PHASE),
        Report("funnel-as-of", service.funnel_report, FunnelOptions(as_of=past), LOG_BY_FIELD),
        Report("cohort", service.funnel_report, FunnelOptions(mode="ordered"), MOVES_BY_PHASE),
        Report("conversion", service.conversion, ConversionOptions(), MOVES_BY_PHASE),
        Report("flow", service.flow, ReportFilters(), MOVES_BY_PHASE),
        Report("time-in-stage", service.time_in_stage, TimeInStageOptions(), STINTS_BY_STAGE),
        Report("stale", service.stale, ReportFilters(), OPEN_BY_STAGE),
        Report("forecast", service.forecast, ForecastOptions(), BY_CATEGORY),
        Report("waterfall", service.waterfall, WaterfallOptions(), LOG_BY_FIELD),
        Report("win-loss", service.win_loss, ReportFilters(), CLOSED_BY_REASON),
        Report("calibration", service.calibration, CalibrationOptions(), CLOSED_DEALS_BY_OUTCOME),
        # As of a past instant: flow and time in stage read their summaries, the cohorts
        # the spans and the phase moves, the forecast the spans (decision 0037), win/loss
        # and calibration the closed deals holding it (decision 0038).
        Report(
            "conversion-as-of", service.conversion, ConversionOptions(as_of=past), MOVES_BY_PHASE
        ),
        Report("flow-as-of", service.flow, ReportFilters(as_of=past), MOVES_BY_PHASE),
        Report("forecast-as-of", service.forecast, ForecastOptions(as_of=past), BY_CATEGORY),
        Report(
            "time-in-stage-as-of",
            service.time_in_stage,
            TimeInStageOptions(as_of=past),
            STINTS_BY_STAGE,
        ),
        Report("win-loss-as-of", service.win_loss, ReportFilters(as_of=past), CLOSED_BY_REASON),
        Report(
            "calibration-as-of",
            service.calibration,
            CalibrationOptions(as_of=past),
            CLOSED_DEALS_BY_OUTCOME,
        ),
    ]


# --- the data set -------------------------------------------------------------------------


def sqlite_dataset(cache: Path, count: int, seed: int) -> str:
    """The cached SQLite file of ``count`` opportunities, generated on first use (and again
    by another generation of the generator)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"analytics-{count}-seed{seed}-generation{bulk.GENERATION}.db"
    done = path.with_suffix(".done")
    url = f"sqlite:///{path}"
    if not done.exists():
        for stale in cache.glob(f"{path.name}*"):
            stale.unlink()
        _generate(url, count, seed)
        done.touch()
    return url


def postgres_dataset(count: int, seed: int) -> str | None:
    """The schema holding ``count`` opportunities, regenerated when it holds another set;
    None when PostgreSQL does not answer."""
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    key = f"opportunities={count} seed={seed} generation={bulk.GENERATION} complete"
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as connection:
            found = connection.execute(
                "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
                (SCHEMA,),
            ).fetchone()
            if found is None or found[0] != key:
                connection.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
                connection.execute(f'CREATE SCHEMA "{SCHEMA}"')
                _generate(_schema_url(), count, seed)
                connection.execute(f"COMMENT ON SCHEMA \"{SCHEMA}\" IS '{key}'")
            # As autovacuum would after such a load: statistics for the planner, and the
            # visibility map, without which an index-only scan reads each row's table page.
            # On every run (seconds once done): a set kept from before was only analysed.
            for table in Base.metadata.sorted_tables:
                connection.execute(f'VACUUM (ANALYZE) "{SCHEMA}"."{table.name}"')
    except psycopg.OperationalError as error:
        console.print(f"[yellow]PostgreSQL does not answer ({error}); skipped.[/]")
        return None
    return _schema_url()


def _schema_url() -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{SCHEMA}"


def _generate(url: str, count: int, seed: int) -> None:
    engine = make_engine(url)
    prepare_database(engine)
    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("Generating", total=count)
        made = bulk.generate(
            sessionmaker(bind=engine, expire_on_commit=False),
            count=count,
            seed=seed,
            progress=lambda _label, done, _total: progress.update(task, completed=done),
        )
    seconds = time.perf_counter() - started
    console.print(
        f"Generated {made.opportunities:,} opportunities and {made.changes:,} change-log rows "
        f"in {seconds:,.0f} s ({made.opportunities / seconds:,.0f} opportunities/s)."
    )
    engine.dispose()


# --- timing -------------------------------------------------------------------------------


def median_seconds(call: Callable[[], Any], repeat: int) -> float:
    """The median time of ``repeat`` calls after a first one; the first one's time alone when
    it took longer than :data:`SLOW` (reports over history at size take minutes)."""
    started = time.perf_counter()
    call()
    first = time.perf_counter() - started
    if first > SLOW:
        return first
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_reports(
    factory: sessionmaker[Session], reports: list[Report], repeat: int
) -> list[tuple[str, list[float], float]]:
    """Per report: its time for each user of :data:`USERS`, and its raw GROUP BY's. Every
    report first, the raw GROUP BYs after: each scans the whole log, and where the page
    cache cannot hold it beside the reports' pages, the report timed next ran cold."""
    actors = [_actor(factory, username) for _, username in USERS]
    report_times: dict[str, list[float]] = {}
    for report in reports:
        times = [median_seconds(_in_unit(factory, report, actor), repeat) for actor in actors]
        report_times[report.name] = times
        # As it goes: at size a run takes long enough that partial figures are worth having.
        console.print(f"  {report.name}: {times} s")
    raw_times: dict[str, float] = {}
    for sql in dict.fromkeys(report.raw for report in reports):
        raw_times[sql] = median_seconds(_raw(factory, sql), repeat)
        console.print(f"  raw GROUP BY: {raw_times[sql]:.3f} s")
    return [(r.name, report_times[r.name], raw_times[r.raw]) for r in reports]


def _actor(factory: sessionmaker[Session], username: str) -> Actor:
    with unit_of_work(factory) as session:
        return security_service.actor_by_username(session, username)


def _in_unit(factory: sessionmaker[Session], report: Report, actor: Actor) -> Callable[[], Any]:
    def call() -> Any:
        with unit_of_work(factory) as session:
            return report.run(session, actor)

    return call


def _raw(factory: sessionmaker[Session], sql: str) -> Callable[[], Any]:
    def call() -> Any:
        with unit_of_work(factory) as session:
            return session.execute(text(sql)).all()

    return call


def time_pages(factory: sessionmaker[Session], repeat: int) -> list[tuple[str, list[float]]]:
    """The dashboard (with each report card it fetches), the board, and the funnel over HTTP,
    for each user of :data:`USERS`."""
    per_user: list[dict[str, float]] = []
    with TestClient(create_app(factory)) as client:
        for _, username in USERS:
            client.cookies.clear()
            _web_log_in(client, username)
            per_user.append(_page_times(client, username, repeat))
    names = list(per_user[0])
    return [(name, [times.get(name, float("nan")) for times in per_user]) for name in names]


def _web_log_in(client: TestClient, username: str) -> None:
    token = _csrf(client.get("/login").text)
    form = {"username": username, "password": bulk.password_of(username), "csrf": token}
    answer = client.post("/login", data={**form, "next": "/"}, follow_redirects=False)
    if answer.status_code != 303:
        raise SystemExit(f"log-in of {username} failed: {answer.status_code}")


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    if found is None:
        raise SystemExit("the log-in page has no CSRF token")
    return found.group(1)


def _page_times(client: TestClient, username: str, repeat: int) -> dict[str, float]:
    fragments = FRAGMENT.findall(_ok(client, "/").text)
    pages: dict[str, tuple[str, dict[str, str]]] = {
        "page /": ("/", {}),
        "page /board": ("/board", {}),
    }
    for url in fragments:
        pages[f"  card {url}"] = (url.replace("&amp;", "&"), {"X-Oppflow-Fragment": "1"})
    times = {
        name: median_seconds(_getter(client, url, headers), repeat)
        for name, (url, headers) in pages.items()
    }
    token = client.post(
        "/api/v1/auth/token",
        data={"username": username, "password": bulk.password_of(username)},
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    funnel = "/api/v1/analytics/funnel"
    times[f"GET {funnel}"] = median_seconds(lambda: _ok(client, funnel, bearer), repeat)
    return times


def _getter(client: TestClient, url: str, headers: dict[str, str]) -> Callable[[], Any]:
    return lambda: _ok(client, url, headers)


def _ok(client: TestClient, url: str, headers: dict[str, str] | None = None) -> Any:
    answer = client.get(url, headers=headers or {})
    if answer.status_code != 200:
        raise SystemExit(f"GET {url} answered {answer.status_code}")
    return answer


# --- the run ------------------------------------------------------------------------------


def run_one(kind: str, url: str, reports: list[Report], repeat: int) -> None:
    engine = make_engine(url)
    prepare_database(engine)  # a kept data set follows the migrations added since
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    console.print(_size_line(kind, engine))
    table = Table(
        title=f"{kind}: reports (seconds: median of {repeat}, one run above {SLOW:.0f} s)"
    )
    for column in ("report", *(role for role, _ in USERS), "raw GROUP BY", "ratio"):
        table.add_column(column, justify="left" if column == "report" else "right")
    for name, times, raw in time_reports(factory, reports, repeat):
        table.add_row(name, *(f"{t:.3f}" for t in times), f"{raw:.3f}", f"{times[0] / raw:.1f}×")
    console.print(table)
    pages = Table(title=f"{kind}: pages (seconds: median of {repeat}, one run above {SLOW:.0f} s)")
    for column in ("page", *(role for role, _ in USERS)):
        pages.add_column(column, justify="left" if column == "page" else "right")
    for name, times in time_pages(factory, repeat):
        pages.add_row(name, *(f"{t:.3f}" for t in times))
    console.print(pages)
    engine.dispose()


def _size_line(kind: str, engine: Engine) -> str:
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM opportunities"))
        changes = connection.scalar(text("SELECT count(*) FROM opportunity_changes"))
    line = f"[bold]{kind}[/]: {count:,} opportunities, {changes:,} change-log rows"
    line += f" ({commit_label()})"
    if engine.dialect.name == "postgresql":
        # The figures at size depend on the server's memory settings: printed beside them.
        with engine.connect() as connection:
            settings = [
                f"{name} {connection.scalar(text(f'SHOW {name}'))}" for name in SERVER_SETTINGS
            ]
        line += f"; {', '.join(settings)}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--opportunities", type=int, help="default: 1M on SQLite, 10M on PostgreSQL"
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--reports", help="a comma-separated subset of the reports")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "oppflow-bench")
    args = parser.parse_args()
    reports = _chosen(args.reports)
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    for kind in kinds:
        count = args.opportunities or DEFAULT_SIZE[kind]
        if kind == "sqlite":
            url: str | None = sqlite_dataset(args.cache_dir, count, args.seed)
        else:
            url = postgres_dataset(count, args.seed)
        if url is not None:
            run_one(kind, url, reports, args.repeat)


def _chosen(names: str | None) -> list[Report]:
    reports = _reports()
    if not names:
        return reports
    wanted = {name.strip() for name in names.split(",")}
    unknown = wanted - {report.name for report in reports}
    if unknown:
        known = ", ".join(report.name for report in reports)
        raise SystemExit(f"unknown report(s): {', '.join(sorted(unknown))} (known: {known})")
    return [report for report in reports if report.name in wanted]


if __name__ == "__main__":
    main()
