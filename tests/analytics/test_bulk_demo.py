"""The bulk demo generator writes what the product writes: every opportunity's change log
folds back to its columns, its process instance replays from its stage history with the
steps of every passed stage filled, the totals equal a recount, every report answers, and
the API serves and moves the generated deals."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.analytics import totals
from oppflow.analytics.changelog import TRACKED_FIELDS
from oppflow.analytics.repository import AnalyticsRepository
from oppflow.analytics.schemas import FunnelFilters
from oppflow.analytics.timeline import encode, microseconds
from oppflow.cli import app
from oppflow.clock import utcnow
from oppflow.db import make_engine, unit_of_work
from oppflow.demo import bulk
from oppflow.demo.stories import HISTORY_DAYS, creation_moments
from oppflow.errors import Conflict
from oppflow.models import (
    Lead,
    Opportunity,
    OpportunityChange,
    OpportunityClose,
    ProcessInstance,
    StageHistory,
    StageStint,
)
from oppflow.process import catalog, engine
from oppflow.process.fields import pipeline_phase
from oppflow.process.service import record_values
from oppflow.security import service as security_service
from tests.analytics.closed import (
    assert_closed_deals_follow_the_log,
    assert_phase_moves_follow_the_log,
    assert_stage_stints_follow_the_log,
)
from tests.analytics.test_change_log import _folded
from tests.analytics.test_totals import _read, _recount
from tests.client import AppClient, app_on

COUNT = 300
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REPORTS = ("funnel", "conversion", "flow", "time-in-stage", "stale", "forecast", "waterfall",
           "win-loss", "calibration")  # fmt: skip


@pytest.fixture
def generated(factory: sessionmaker[Session]) -> bulk.Generated:
    calls: list[tuple[str, int, int]] = []
    made = bulk.generate(factory, count=COUNT, seed=11, progress=lambda *call: calls.append(call))
    assert calls[-1] == ("Opportunities", COUNT, COUNT)
    return made


def test_the_log_folds_back_to_every_opportunitys_columns(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    with unit_of_work(factory) as session:
        records = list(session.scalars(select(Opportunity)))
        assert len(records) == COUNT
        for record in records:
            expected = {field: encode(getattr(record, field)) for field in TRACKED_FIELDS}
            assert _folded(session, record) == expected, record.id
        logged = session.scalar(select(func.count()).select_from(OpportunityChange))
    assert logged == generated.changes


def test_ids_are_ordered_as_the_records_were_made(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    """As the product gives them (decision 0048): a window of creation is a range of keys."""
    with unit_of_work(factory) as session:
        made = session.execute(select(Opportunity.id, Opportunity.created_at)).all()
        leads = session.execute(select(Lead.id, Lead.created_at)).all()
    for identifier, created_at in [*made, *leads]:
        assert identifier.version == 7
        assert identifier.int >> 80 == (created_at - EPOCH) // timedelta(milliseconds=1)


def test_instances_replay_from_the_history_with_passed_steps_filled(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    with unit_of_work(factory) as session:
        for record in session.scalars(select(Opportunity)):
            _check_instance(session, record)


def _check_instance(session: Session, record: Opportunity) -> None:
    instance = session.scalars(
        select(ProcessInstance).where(ProcessInstance.opportunity_id == record.id)
    ).one()
    definition = catalog.definition_of(session, instance.process_id, instance.process_version)
    rows = session.scalars(
        select(StageHistory)
        .where(StageHistory.opportunity_id == record.id)
        .order_by(StageHistory.seq)
    )
    moves = [(cast(engine.MoveKind, r.kind), r.from_stage, r.to_stage) for r in rows]
    replayed = engine.replay(definition, moves)
    assert (replayed.active_stage, list(replayed.traversed_path)) == (
        instance.active_stage,
        instance.traversed_path,
    )
    assert (record.process_key, record.active_stage) == (definition.key, instance.active_stage)
    assert record.pipeline_phase == pipeline_phase(definition.stage(instance.active_stage).category)
    for passed in instance.traversed_path[:-1]:
        if definition.stage_table(passed) == "opportunity":
            assert not engine.missing_steps(definition, passed, record_values(record)), passed


def test_the_histories_hold_every_kind_of_event(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    with unit_of_work(factory) as session:
        kinds = Counter(session.scalars(select(StageHistory.kind)))
        states = Counter(session.scalars(select(Opportunity.state)))
        canceled = session.scalar(select(func.count()).where(OpportunityClose.status == "canceled"))
        owners = session.scalar(
            select(func.count()).where(
                OpportunityChange.field == "owner_id", OpportunityChange.old_value.is_not(None)
            )
        )
        units = session.scalar(
            select(func.count(func.distinct(Opportunity.owning_business_unit_id)))
        )
        qualified = session.scalar(select(func.count()).select_from(Lead))
        first = session.scalar(select(func.min(Opportunity.created_at)))
        last = session.scalar(select(func.max(Opportunity.created_at)))
    assert kinds["next"]
    assert kinds["previous"]
    assert kinds["start"]
    assert states["open"]
    assert states["won"]
    assert states["lost"]
    assert canceled
    assert owners
    assert qualified
    assert units == len(bulk.UNITS)
    assert first is not None
    assert last is not None
    assert first < utcnow() - timedelta(days=700)
    assert last > utcnow() - timedelta(days=60)


def test_the_totals_equal_a_recount(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    with unit_of_work(factory) as session:
        for summary in totals.SUMMARIES:
            assert _read(session, summary) == _recount(session, summary)


def test_the_closed_deals_follow_the_log(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    assert assert_closed_deals_follow_the_log(factory) > COUNT // 4


def test_the_stage_stints_follow_the_log(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    assert assert_stage_stints_follow_the_log(factory) > COUNT


def test_the_phase_moves_follow_the_log(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    assert assert_phase_moves_follow_the_log(factory) > COUNT


def _log_in(client: TestClient, generated: bulk.Generated, username: str) -> dict[str, str]:
    password = generated.credentials.password(username)
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_every_report_answers_over_the_generated_data(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    with app_on(factory) as app, AppClient(app) as client:
        for username in (bulk.ADMIN, "sales-1-1"):
            headers = _log_in(client, generated, username)
            for report in REPORTS:
                answer = client.get(f"/api/v1/analytics/{report}", headers=headers)
                assert answer.status_code == 200, (username, report, answer.text)
        admin = _log_in(client, generated, bulk.ADMIN)
        funnel = client.get("/api/v1/analytics/funnel", headers=admin).json()
    with unit_of_work(factory) as session:
        open_count = session.scalar(select(func.count()).where(Opportunity.state == "open"))
    assert sum(phase["count"] for phase in funnel["phases"]) == open_count


def _an_open_deal(session: Session, stage: str) -> Any:
    return session.scalars(
        select(Opportunity.id).where(
            Opportunity.state == "open",
            Opportunity.process_key == "opportunity-sales-process",
            Opportunity.active_stage == stage,
        )
    ).first()


def test_the_api_serves_and_moves_the_generated_deals(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    with unit_of_work(factory) as session:
        qualify = _an_open_deal(session, "qualify")
        propose = _an_open_deal(session, "propose")
    assert qualify is not None
    assert propose is not None
    with app_on(factory) as app, AppClient(app) as client:
        headers = _log_in(client, generated, bulk.ADMIN)
        for deal, move, lands in ((qualify, "next", "develop"), (propose, "previous", "develop")):
            assert client.get(f"/api/v1/opportunities/{deal}", headers=headers).status_code == 200
            answer = client.post(f"/api/v1/opportunities/{deal}/process/{move}", headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["active_stage"]["key"] == lands
    with unit_of_work(factory) as session:
        for deal in (qualify, propose):
            record = session.get(Opportunity, deal)
            assert record is not None
            _check_instance(session, record)
            expected = {field: encode(getattr(record, field)) for field in TRACKED_FIELDS}
            assert _folded(session, record) == expected


def test_a_database_with_users_is_refused_and_left_as_it_was(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    with pytest.raises(Conflict, match="already has users"):
        bulk.generate(factory, count=10, seed=1)
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(Opportunity)) == COUNT


def test_the_cli_generates_into_the_database_named_and_refuses_a_second_time(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    command = ["demo", "--opportunities", "40", "--seed", "5", "--database-url", url]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    assert "40 opportunities" in first.stdout
    assert "oppflow-sales-1-1-1" in first.stdout
    again = CliRunner().invoke(app, command)
    assert again.exit_code == 1
    assert "already has users" in again.stderr
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Opportunity)) == 40
    engine.dispose()


def test_creation_moments_drawn_in_order_follow_the_same_distribution() -> None:
    """The creation moments drawn in order (order statistics) are distributed as those drawn
    one at a time, and each is at most a day (its time of day) before the one before."""
    now = utcnow()
    ordered = list(creation_moments(random.Random(3), now, 20_000))
    single = random.Random(4)
    alone = sorted(
        now - timedelta(days=HISTORY_DAYS * (1 - single.random() ** 0.6), hours=1)
        for _ in range(20_000)
    )
    assert all(later > earlier - timedelta(days=1) for earlier, later in pairwise(ordered))
    earliest, latest = now - timedelta(days=HISTORY_DAYS + 1, hours=1), now - timedelta(hours=1)
    assert all(earliest <= moment <= latest for moment in ordered)
    for share in (0.1, 0.25, 0.5, 0.75, 0.9):
        drawn, expected = sorted(ordered)[int(share * 20_000)], alone[int(share * 20_000)]
        assert abs(drawn - expected) < timedelta(days=12), share


def test_time_in_stage_gathers_the_same_stays_whichever_stages_are_known(
    factory: sessionmaker[Session], generated: bulk.Generated
) -> None:
    """On SQLite the stays of a known stage come by its index, the others by their names in
    a second statement: any split of the stages gives the same stays (on PostgreSQL, which
    groups them itself, the list is not read)."""
    now_us = microseconds(utcnow())
    with unit_of_work(factory) as session:
        admin = security_service.actor_by_username(session, bulk.ADMIN)
        repository = AnalyticsRepository(session, admin)

        def stays(known: list[tuple[str, str]]) -> list[tuple[object, ...]]:
            found = repository.stays(
                FunnelFilters(), (0, now_us), now_us, cumulative=True, known=known
            )
            return sorted(
                (s.process, s.stage, sorted(s.walking_keys), s.ended, s.ended_length) for s in found
            )

        found = session.execute(select(StageStint.process_key, StageStint.stage).distinct())
        pairs = sorted((process or "", stage) for process, stage in found)
        every = stays(pairs)
        assert len(every) >= 4
        assert stays([]) == every
        assert stays(pairs[::2]) == every
        assert stays([("no-such-process", "nowhere"), *pairs]) == every
