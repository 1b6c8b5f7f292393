"""The demo data set, loaded once per database (SQLite and PostgreSQL) and checked from all sides.

Loading takes seconds, so each database gets one module-scoped load that every test reads; the
PostgreSQL one lives in a schema of its own, which the per-test truncation of the other tests'
schema leaves alone.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.db import make_engine, unit_of_work
from oppflow.demo import PROBABILITY, DemoCredentials, DemoUser, is_empty, load_demo
from oppflow.errors import Conflict
from oppflow.install import ensure_builtin_data
from oppflow.models import (
    Account,
    Competitor,
    Contact,
    Lead,
    Note,
    Opportunity,
    OpportunityClose,
    OpportunityCompetitor,
    OpportunityFile,
    SalesTeamMember,
    StageHistory,
    Stakeholder,
    User,
)
from tests.client import AppClient, app_on

SEED = 7
PHASES = ["1-Qualify", "2-Develop", "3-Propose", "4-Close"]


@dataclass
class Demo:
    factory: sessionmaker[Session]
    credentials: DemoCredentials
    progress: list[tuple[str, int, int]] = field(default_factory=list)


def _load(engine: Engine) -> Demo:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with unit_of_work(factory) as session:
        ensure_builtin_data(session)
    calls: list[tuple[str, int, int]] = []
    with unit_of_work(factory) as session:
        assert is_empty(session)
        credentials = load_demo(
            session,
            seed=SEED,
            progress=lambda label, done, total: calls.append((label, done, total)),
        )
    return Demo(factory, credentials, calls)


def _sqlite_demo(template: Path, directory: Path) -> Iterator[Demo]:
    path = directory / "demo.db"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield _load(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def sqlite_demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from _sqlite_demo(sqlite_template, tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def postgres_demo(postgres_engine: Engine) -> Iterator[Demo]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"oppflow_demo_{worker}_{os.getpid()}"
    with postgres_engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        migrate.upgrade(engine)
        yield _load(engine)
    finally:
        engine.dispose()
        with postgres_engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def demo(request: pytest.FixtureRequest) -> Demo:
    """The demo loaded into a database of each kind."""
    loaded: Demo = request.getfixturevalue(f"{request.param}_demo")
    return loaded


@pytest.fixture(scope="module")
def second_demo(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The same seed in another database: PostgreSQL when it answers, else a second SQLite."""
    try:
        other: Demo | None = request.getfixturevalue("postgres_demo")
    except pytest.skip.Exception:
        other = None
    if other is not None:
        yield other
    else:
        yield from _sqlite_demo(sqlite_template, tmp_path_factory.mktemp("demo-again"))


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_counts_are_those_of_a_small_sales_team(demo: Demo) -> None:
    with unit_of_work(demo.factory) as session:
        assert _count(session, Account) == 50
        assert 80 <= _count(session, Contact) <= 130
        assert _count(session, Competitor) == 8
        assert _count(session, Opportunity) == 300
        users = {user.username: set(user.role_keys) for user in session.scalars(select(User))}
    assert users == {
        "admin": {"system-administrator"},
        "maya": {"sales-manager"},
        "alice": {"salesperson"},
        "carlos": {"salesperson"},
    }


def test_open_opportunities_fill_a_funnel(demo: Demo) -> None:
    with unit_of_work(demo.factory) as session:
        rows = session.execute(
            select(Opportunity.pipeline_phase, func.count())
            .where(Opportunity.state == "open")
            .group_by(Opportunity.pipeline_phase)
        ).all()
    open_by_phase = dict(rows)
    assert set(open_by_phase) == set(PHASES)
    assert open_by_phase["1-Qualify"] > open_by_phase["4-Close"]


def test_deals_are_won_lost_reopened_moved_back_and_abandoned(demo: Demo) -> None:
    with unit_of_work(demo.factory) as session:
        outcomes = _pairs(session, Opportunity.state, Opportunity.status_reason)
        closes = _pairs(session, OpportunityClose.status_reason, OpportunityClose.status)
        lost_to = session.scalar(
            select(func.count()).where(OpportunityClose.competitor_id.is_not(None))
        )
        # Moves of the opportunities (a qualified lead's first row, its start, is the lead's).
        kinds = Counter(
            session.scalars(
                select(StageHistory.kind).where(StageHistory.opportunity_id.is_not(None))
            )
        )
        carried = session.scalar(
            select(func.count()).where(
                StageHistory.opportunity_id.is_not(None), StageHistory.lead_id.is_not(None)
            )
        )
    assert outcomes[("won", "won")] > 20
    assert outcomes[("lost", "out_sold")] > 10
    assert outcomes[("lost", "canceled")] > 5
    assert lost_to == closes[("out_sold", "completed")] + closes[("out_sold", "canceled")]
    assert closes[("out_sold", "canceled")] + closes[("canceled", "canceled")] > 0  # reopened
    assert kinds["start"] + (carried or 0) == 300
    assert kinds["finish"] == outcomes[("won", "won")]
    assert kinds["previous"] > 0
    assert kinds["abandon"] > 0


def _pairs(session: Session, first: Any, second: Any) -> Counter[tuple[str, str]]:
    return Counter((a, b) for a, b in session.execute(select(first, second)))


def test_owners_are_the_salespeople(demo: Demo) -> None:
    with unit_of_work(demo.factory) as session:
        owners = Counter(
            session.scalars(
                select(User.username).join(Opportunity, Opportunity.owner_id == User.id)
            )
        )
    assert set(owners) == {"alice", "carlos"}
    assert min(owners.values()) > 50


def test_probabilities_suit_the_stage_and_the_outcome(demo: Demo) -> None:
    with unit_of_work(demo.factory) as session:
        rows = session.execute(
            select(Opportunity.state, Opportunity.pipeline_phase, Opportunity.probability)
        ).all()
    for state, phase, probability in rows:
        assert phase is not None
        assert probability is not None
        if state == "open":
            low, high = PROBABILITY[PHASES.index(phase)]
            assert low <= probability <= high, (phase, probability)
        else:
            assert probability == (100 if state == "won" else 0)


def test_history_spans_the_past_year_and_never_the_future(demo: Demo) -> None:
    now = datetime.now(UTC)
    with unit_of_work(demo.factory) as session:
        first = session.scalar(select(func.min(StageHistory.at)))
        latest = [
            session.scalar(select(func.max(column)))
            for column in (
                StageHistory.at,
                Opportunity.created_at,
                Opportunity.modified_at,
                Account.created_at,
                Contact.created_at,
                User.created_at,
                OpportunityClose.created_at,
            )
        ]
    assert first is not None
    assert now - first < timedelta(days=370)
    for last in latest:
        assert last is not None
        assert now - timedelta(days=500) < last < now
    assert latest[0] - first > timedelta(days=300)


def test_every_phase_is_the_last_history_row(demo: Demo) -> None:
    with unit_of_work(demo.factory) as session:
        last_rows: dict[Any, StageHistory] = {}
        for row in session.scalars(select(StageHistory).order_by(StageHistory.seq)):
            if row.opportunity_id is not None:  # not a lead's own row
                last_rows[row.opportunity_id] = row
        opportunities = list(session.scalars(select(Opportunity)))
    assert len(last_rows) == len(opportunities)
    for opportunity in opportunities:
        last = last_rows[opportunity.id]
        assert (opportunity.pipeline_phase, opportunity.active_stage) == (
            last.pipeline_phase,
            last.to_stage,
        )


def test_progress_is_reported_record_by_record(demo: Demo) -> None:
    labels = [label for label, _, _ in demo.progress]
    total = demo.progress[-1][2]
    assert [done for _, done, _ in demo.progress] == list(range(1, total + 1))
    assert {total} == {call_total for _, _, call_total in demo.progress}
    assert labels.count("Opportunities") == 300


def test_demo_users_log_in_and_read_opportunities(demo: Demo) -> None:
    with app_on(demo.factory) as app, AppClient(app) as client:
        headers = {user.username: _log_in(client, user) for user in demo.credentials.users}
        for username, bearer in headers.items():
            page = client.get("/api/v1/opportunities", params={"limit": 200}, headers=bearer)
            assert page.status_code == 200, page.text
            assert page.json()["items"], username
        assert _all_pages(client, headers["admin"]) == 300


def _log_in(client: TestClient, user: DemoUser) -> dict[str, str]:
    form = {"username": user.username, "password": user.password}
    answer = client.post("/api/v1/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _all_pages(client: TestClient, headers: dict[str, str]) -> int:
    count, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/opportunities", params=params, headers=headers).json()
        count += len(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return count


def test_loading_refuses_a_database_that_has_users(demo: Demo) -> None:
    with unit_of_work(demo.factory) as session:
        assert not is_empty(session)
        with pytest.raises(Conflict):
            load_demo(session, seed=SEED)


def _snapshot(factory: sessionmaker[Session]) -> dict[str, list[Any]]:
    """Names and values of a demo database; times relative to its first user's creation."""
    with unit_of_work(factory) as session:
        origin = session.scalar(select(func.min(User.created_at)))
        assert origin is not None
        owner = select(User.username).where(User.id == Opportunity.owner_id).scalar_subquery()
        opportunities = session.execute(
            select(
                Opportunity.name,
                Opportunity.estimated_value,
                Opportunity.probability,
                Opportunity.state,
                Opportunity.status_reason,
                Opportunity.pipeline_phase,
                Opportunity.rating,
                Opportunity.forecast_category,
                Opportunity.created_at,
                owner,
            )
        ).all()
        history = session.execute(
            select(
                StageHistory.at,
                StageHistory.kind,
                StageHistory.to_stage,
                StageHistory.estimated_value,
            )
        ).all()
        return {
            "accounts": sorted(session.scalars(select(Account.name))),
            "contacts": sorted(session.scalars(select(Contact.email))),
            "opportunities": sorted(
                (*row[:-2], row[-2] - origin, row[-1]) for row in opportunities
            ),
            "history": sorted((row[0] - origin, *row[1:]) for row in history),
        }


def test_the_same_seed_gives_the_same_data(sqlite_demo: Demo, second_demo: Demo) -> None:
    first, second = _snapshot(sqlite_demo.factory), _snapshot(second_demo.factory)
    assert len(first["opportunities"]) == 300
    for part in first:
        assert first[part] == second[part], part


def test_leads_and_the_records_around_opportunities(demo: Demo) -> None:
    """Leads (some qualified into the demo's opportunities, which start on Develop), and
    stakeholders, sales teams, competitors, notes and a few files on the opportunities."""
    with unit_of_work(demo.factory) as session:
        states = Counter(session.scalars(select(Lead.state)))
        born = list(
            session.scalars(select(Opportunity).where(Opportunity.originating_lead_id.is_not(None)))
        )
        first_rows = {
            row.opportunity_id: row
            for row in session.scalars(select(StageHistory).order_by(StageHistory.seq.desc()))
        }
        counts = {
            model.__tablename__: _count(session, model)
            for model in (
                Stakeholder,
                SalesTeamMember,
                OpportunityCompetitor,
                OpportunityFile,
                Note,
            )
        }
        files = list(session.scalars(select(OpportunityFile)))
    assert states["qualified"] == len(born) > 10
    assert states["open"] > 10
    assert states["disqualified"] > 3
    for opportunity in born:
        first = first_rows[opportunity.id]
        assert (first.kind, first.from_stage, first.to_stage) == ("next", "qualify", "develop")
        assert first.lead_id == opportunity.originating_lead_id
    assert counts["opportunity_stakeholders"] >= 300  # every opportunity's contact at least
    assert counts["opportunity_sales_team"] > 20
    assert counts["opportunity_competitors"] > 50
    assert counts["notes"] > 20
    assert 3 <= counts["opportunity_files"] <= 60
    assert {f.content_type for f in files} == {"application/pdf", "text/plain"}
