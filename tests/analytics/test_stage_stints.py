"""The stage stints (decision 0032) follow every move, close, reopen and backdated change in
the same transaction, merge what one instant does as the change log's fold does, cost a stage
move two statements, are rebuilt by their migration, and give time in stage of now the answer
the log gives as of the same instant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.analytics import changelog
from oppflow.clock import simulated_time
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, StageStint
from tests.analytics.closed import assert_stage_stints_follow_the_log
from tests.analytics.test_change_log import _journey, _patch, _post
from tests.analytics.test_closed_deals import StatementLog
from tests.helpers import create_opportunity, qualify_fields, signed_in


def test_each_move_close_and_reopen_keeps_the_stints_in_its_transaction(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = create_opportunity(client, headers, estimated_value=1000, **links)["id"]
    assert assert_stage_stints_follow_the_log(factory) == 1
    _post(client, headers, f"opportunities/{made}/process/next")
    _post(client, headers, f"opportunities/{made}/process/previous")
    assert assert_stage_stints_follow_the_log(factory) == 3
    _post(client, headers, f"opportunities/{made}/win")
    assert _open_stints(factory) == 0
    _post(client, headers, f"opportunities/{made}/reopen")
    assert assert_stage_stints_follow_the_log(factory) == 4
    assert _open_stints(factory) == 1
    _journey(client, headers)
    assert assert_stage_stints_follow_the_log(factory) > 4


def _open_stints(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return len(session.scalars(select(StageStint).where(StageStint.left_us.is_(None))).all())


def test_what_one_instant_does_is_merged_as_the_log_folds_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Flushes in one microsecond (as under the demo's simulated clock): a stay begun and
    ended at that instant is no stay, and a stage left and taken again there never ended."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = uuid.UUID(create_opportunity(client, headers, **links)["id"])
    first, second = _stage(factory, made), "develop"
    instant = datetime.now(UTC) + timedelta(seconds=5)
    # There and back in one transaction, then again in two.
    with simulated_time(instant), unit_of_work(factory) as session:
        _set(session, made, active_stage=second)
        _set(session, made, active_stage=first)
    assert assert_stage_stints_follow_the_log(factory) == 1
    later = instant + timedelta(seconds=1)
    for stage in (second, first, second):
        with simulated_time(later), unit_of_work(factory) as session:
            _set(session, made, active_stage=stage)
    assert assert_stage_stints_follow_the_log(factory) == 2
    # Closed and reopened at one instant: its stay goes on.
    last = later + timedelta(seconds=1)
    with simulated_time(last), unit_of_work(factory) as session:
        _set(session, made, state="lost")
        _set(session, made, state="open")
    assert assert_stage_stints_follow_the_log(factory) == 2


def _stage(factory: sessionmaker[Session], opportunity_id: uuid.UUID) -> str:
    with factory() as session:
        record = session.get(Opportunity, opportunity_id)
        assert record is not None
        assert record.active_stage is not None
        return record.active_stage


def _set(session: Session, opportunity_id: uuid.UUID, **values: Any) -> None:
    record = session.get(Opportunity, opportunity_id)
    assert record is not None
    for name, value in values.items():
        setattr(record, name, value)
    session.flush()


def test_a_backdated_change_rewrites_the_stints_from_the_log(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = uuid.UUID(create_opportunity(client, headers, **links)["id"])
    _post(client, headers, f"opportunities/{made}/process/next")
    before = datetime.now(UTC) - timedelta(days=400)
    with unit_of_work(factory) as session, changelog.effective_at(session, before):
        _set(session, made, active_stage="propose")
    with unit_of_work(factory) as session, changelog.effective_at(session, before):
        _set(session, made, state="won")
    # A stay in propose dated 400 days ago, ended there by the won state; then the stages
    # taken since, from the log.
    assert assert_stage_stints_follow_the_log(factory) == 2


def test_a_move_ends_one_stint_and_begins_one_and_nothing_else_writes(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    with StatementLog(engine) as seen:
        made = create_opportunity(client, headers, **links)["id"]
    assert _touching(seen) == ["INSERT"]
    for path, body, expected in (
        ("process/next", {}, ["UPDATE", "INSERT"]),
        ("win", {}, ["UPDATE"]),
    ):
        with StatementLog(engine) as seen:
            _post(client, headers, f"opportunities/{made}/{path}", **body)
        assert _touching(seen) == expected, path
    other = create_opportunity(client, headers, name="Other", **links)["id"]
    with StatementLog(engine) as seen:
        _patch(client, headers, other, estimated_value=10, probability=30)
    assert _touching(seen) == []
    assert assert_stage_stints_follow_the_log(factory) == 3


def _touching(seen: list[str]) -> list[str]:
    return [s.split()[0] for s in seen if "stage_stints" in s]


def test_the_migration_builds_the_stints_from_the_log(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    kept = assert_stage_stints_follow_the_log(factory)
    migrate.downgrade(engine, "0016")
    migrate.upgrade(engine)
    assert assert_stage_stints_follow_the_log(factory) == kept > 0


def test_time_in_stage_of_a_process_now_equals_it_as_of_its_instant(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Now, the process filter reads the records' process; as of an instant, the one the
    spans hold then (decision 0037)."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    process = "opportunity-sales-process"
    for measure in ("cumulative", "latest"):
        of_now = _report(client, headers, measure=measure, process=process)
        assert sum(r["completed"] + r["still_open"] for r in of_now["rows"]) > 0
        at = of_now["convention"]["as_of"]
        then = _report(client, headers, measure=measure, as_of=at, process=process)
        assert of_now["rows"] == then["rows"], measure


def _report(client: TestClient, headers: dict[str, str], **params: str) -> Any:
    answer = client.get("/api/v1/analytics/time-in-stage", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()
