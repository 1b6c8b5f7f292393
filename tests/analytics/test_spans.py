"""The spans (decision 0035): each stretch over which an opportunity's reported fields held, kept
by the writer's flush in two statements per change of one of them, rewritten from the log
where a flush cannot say them exactly, and read by the snapshot funnel as of a past instant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.analytics import forecasting, funnels, spans
from oppflow.analytics.defaults import Defaults
from oppflow.analytics.history_repository import CLOSE_MONTH, HistoryRepository, _spans_at
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import State, microseconds
from oppflow.clock import simulated_time
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, OpportunitySpan
from oppflow.models.analytics import OPEN_END
from oppflow.security.service import actor_by_username
from tests.analytics.closed import assert_spans_follow_the_log
from tests.analytics.test_change_log import _journey, _patch, _post
from tests.analytics.test_closed_deals import PlanLog, StatementLog
from tests.helpers import create_opportunity, qualify_fields, signed_in


def _spans(factory: sessionmaker[Session], opportunity_id: uuid.UUID) -> list[OpportunitySpan]:
    with factory() as session:
        found = select(OpportunitySpan).where(OpportunitySpan.opportunity_id == opportunity_id)
        return list(session.scalars(found.order_by(OpportunitySpan.from_us)))


def _on_spans(statements: list[str]) -> list[str]:
    return [s.split(" ")[0] for s in statements if "opportunity_spans" in s]


def test_a_move_ends_the_span_and_starts_the_next_keeping_what_it_left(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = uuid.UUID(create_opportunity(client, headers, estimated_value=1000, **links)["id"])
    with StatementLog(engine) as seen:
        _post(client, headers, f"opportunities/{made}/process/next")
    assert _on_spans(seen) == ["UPDATE", "INSERT"]
    first, second = _spans(factory, made)
    assert (first.to_us, second.to_us) == (second.from_us, OPEN_END)
    assert first.active_stage != second.active_stage
    assert (first.estimated_value, second.estimated_value) == ("1000", "1000")
    assert second.state == "open"
    assert second.owner_id == first.owner_id is not None
    assert_spans_follow_the_log(factory)


def test_a_create_inserts_the_first_span_and_reads_nothing(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    with StatementLog(engine) as seen:
        made = create_opportunity(client, headers, estimated_value=5, **links)["id"]
    assert _on_spans(seen) == ["INSERT"]
    (first,) = _spans(factory, uuid.UUID(made))
    assert (first.to_us, first.state, first.estimated_value) == (OPEN_END, "open", "5")


def test_a_change_of_a_field_no_report_reads_as_of_writes_no_span(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    made = create_opportunity(client, headers, **qualify_fields(client, headers))["id"]
    with StatementLog(engine) as seen:
        _patch(client, headers, made, customer_need="Twelve laptops", name="Laptops")
    assert _on_spans(seen) == []
    assert len(_spans(factory, uuid.UUID(made))) == 1
    # The forecast as of an instant reads the category (migration 0022).
    with StatementLog(engine) as seen:
        _patch(client, headers, made, forecast_category="best_case")
    assert _on_spans(seen) == ["UPDATE", "INSERT"]
    assert [span.forecast_category for span in _spans(factory, uuid.UUID(made))] == [
        "pipeline",
        "best_case",
    ]


def test_flushes_at_one_instant_and_a_clock_behind_are_read_from_the_log(
    factory: sessionmaker[Session], client: TestClient
) -> None:
    """The log orders what happens by instant: a flush at the instant the span began (the
    demo's simulated clock), or before it (a host whose clock is behind), is rewritten from
    it, not appended after the span."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    made = uuid.UUID(create_opportunity(client, headers, **qualify_fields(client, headers))["id"])
    later = datetime.now(UTC) + timedelta(hours=1)
    for moment, value in ((later, "10"), (later, "20"), (later - timedelta(minutes=5), "30")):
        with simulated_time(moment), unit_of_work(factory) as session:
            record = session.get(Opportunity, made)
            assert record is not None
            record.estimated_value = Decimal(value)
        assert_spans_follow_the_log(factory)
    values = [span.estimated_value for span in _spans(factory, made)]
    assert values[-1] == "20"  # the last by instant, not the last written
    assert "10" not in values  # merged with "20" at their shared instant, as the log reads


def test_the_states_from_the_spans_equal_the_states_from_the_log(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """At each instant a span begins and just before it. (Row-level security over the spans
    is checked for every built-in role in ``tests/security/test_report_visibility.py``.)"""
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    fields = ("state", "pipeline_phase", "active_stage", "estimated_value", "owner_id")
    with factory() as session:
        starts = session.scalars(select(OpportunitySpan.from_us)).all()
        repository = HistoryRepository(session, actor_by_username(session, "alice"))
        for start in sorted({*starts, *(s - 1 for s in starts)}):
            moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=start)
            from_spans = repository.spans_at(moment, fields)
            from_log = repository.values_at(moment, None, fields)
            assert _alike_spans(from_spans) == _alike(from_log)
    assert len(starts) > 5


def _alike_spans(found: Iterable[tuple[State, int, Decimal]]) -> dict[str, list[Any]]:
    return {repr(state): [count, value] for state, count, value in found}


def _alike(states: Iterable[State]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for state in states:
        but_value = State({k: v for k, v in state.values.items() if k != "estimated_value"})
        tally = found.setdefault(repr(but_value), [0, Decimal(0)])
        tally[0] += 1
        tally[1] += state["estimated_value"] or 0
    return found


def test_the_migration_fills_the_spans_from_the_log(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    kept = assert_spans_follow_the_log(factory)
    migrate.downgrade(engine, "0020")
    migrate.upgrade(engine)
    assert assert_spans_follow_the_log(factory) == kept > 0
    # Across 0022 alone: the spans of eight fields emptied, then rebuilt with the forecast's.
    migrate.downgrade(engine, "0021")
    migrate.upgrade(engine)
    assert assert_spans_follow_the_log(factory) == kept
    with factory() as session:
        categories = session.scalars(select(OpportunitySpan.forecast_category)).all()
    assert categories
    assert all(category is not None for category in categories)
    # Across 0025 alone: on SQLite the rows copied into a table kept in their key's order.
    migrate.downgrade(engine, "0024")
    migrate.upgrade(engine)
    assert assert_spans_follow_the_log(factory) == kept
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            made = "SELECT sql FROM sqlite_master WHERE name = 'opportunity_spans'"
            assert connection.execute(text(made)).scalar_one().rstrip().endswith("WITHOUT ROWID")


def test_the_spans_keep_every_field_the_reports_as_of_an_instant_read() -> None:
    columns = [column.name for column in OpportunitySpan.__table__.c]
    assert columns[3:] == list(spans.FIELDS)
    filters = Scope(datetime.now(UTC), Defaults({}, 30), owner_id=uuid.uuid4(), process="x")
    read = (
        funnels.SNAPSHOT_FIELDS,
        funnels.MEMBER_FIELDS,
        forecasting.WATERFALL_FIELDS,
        forecasting.FORECAST_OPEN_FIELDS,
        forecasting.FORECAST_WON_FIELDS,
        filters.fields(),
    )
    for fields in read:
        assert set(fields) - {CLOSE_MONTH} <= set(spans.FIELDS)


@pytest.mark.parametrize(
    ("state", "fields"),
    [
        ("open", [*funnels.SNAPSHOT_FIELDS, *forecasting.FORECAST_OPEN_FIELDS, "owner_id"]),
        ("won", [*forecasting.FORECAST_WON_FIELDS, "owner_id", "process_key"]),
    ],
)
def test_sqlite_reads_the_spans_holding_an_instant_from_the_index_alone(
    engine: Engine, state: str, fields: list[str]
) -> None:
    """Before migration 0024 the plan read each span's row too, to test its state."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's index-only scans do not need the partial condition's column")
    names = [name for name in dict.fromkeys(fields) if name != "estimated_value"]
    query = _spans_at(microseconds(datetime.now(UTC)), names, state)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = " ".join(row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert f"USING COVERING INDEX ix_opportunity_spans_{state}" in plan


@pytest.mark.parametrize(
    ("state", "fields"),
    [
        ("open", [*forecasting.FORECAST_OPEN_FIELDS, "owner_id"]),
        ("won", [*forecasting.FORECAST_WON_FIELDS, "owner_id", "process_key"]),
    ],
)
def test_postgresql_tests_the_spans_holding_an_instant_against_ids_from_the_index_alone(
    engine: Engine, state: str, fields: list[str]
) -> None:
    """A salesperson's spans are kept by their opportunity's id: before migration 0026 the
    won spans' index did not hold it, and PostgreSQL read each span's table row (1.4 s for
    a salesperson's forecast as of an instant at 1M)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's spans are kept in their key's order: its indexes hold the id")
    names = [name for name in dict.fromkeys(fields) if name != "estimated_value"]
    query = _spans_at(microseconds(datetime.now(UTC)), names, state)
    kept = query.where(OpportunitySpan.opportunity_id.in_(select(Opportunity.id)))
    sql = str(kept.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        # The rows of an empty table: only a plan that cannot read the index alone would
        # read the table's rows, whatever their number.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {sql}")))
    assert f"Index Only Scan using ix_opportunity_spans_{state} on opportunity_spans" in plan


@pytest.mark.parametrize("report", ["conversion", "funnel"])
def test_sqlite_seeks_the_spans_of_a_cohort_as_of_an_instant_in_the_order_of_their_key(
    client: TestClient, factory: sessionmaker[Session], engine: Engine, report: str
) -> None:
    """In the order the index of their creation gave them, each member's seek landed on a
    page of its own at 1M; SQLite drops a subquery's ORDER BY unless it has a LIMIT."""
    if engine.dialect.name != "sqlite":
        pytest.skip("a plan of SQLite's")
    headers = signed_in(client, factory, roles=["system-administrator"])
    params = {"as_of": datetime.now(UTC).isoformat(), "mode": "ordered"}
    with PlanLog(engine) as plans:
        answer = client.get(f"/api/v1/analytics/{report}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    [plan] = [plan for statement, plan in plans if statement.startswith("WITH members ")]
    members, spans_read = plan.split(" SCAN members ")
    assert members.startswith("MATERIALIZE members"), plan
    assert members.endswith("USE TEMP B-TREE FOR ORDER BY"), plan
    assert spans_read.startswith("SEARCH opportunity_spans USING PRIMARY KEY"), plan
