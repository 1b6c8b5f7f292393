"""The change log is written by every path that changes an opportunity, in the same
transaction, and it always reads back to the records as they are (ANALYTICS.md §1)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.analytics.changelog import TRACKED_FIELDS
from oppflow.analytics.timeline import encode
from oppflow.clock import simulated_time
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, OpportunityChange
from tests.helpers import create, create_opportunity, qualify_fields, signed_in


def _post(client: TestClient, headers: dict[str, str], path: str, **body: Any) -> Any:
    answer = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _patch(client: TestClient, headers: dict[str, str], oid: str, **fields: Any) -> None:
    answer = client.patch(f"/api/v1/opportunities/{oid}", json=fields, headers=headers)
    assert answer.status_code == 200, answer.text


def _journey(client: TestClient, headers: dict[str, str]) -> list[str]:
    """Create, change, move forward and back, win, reopen, lose; and qualify a lead."""
    links = qualify_fields(client, headers)
    first = create_opportunity(client, headers, estimated_value=1000, **links)["id"]
    second = create_opportunity(client, headers, name="Second", **links)["id"]
    _patch(client, headers, first, estimated_value=2500.5, probability=40)
    _patch(client, headers, first, estimated_close_date="2027-03-31", forecast_category="best_case")
    _patch(client, headers, first, customer_need="More", proposed_solution="Laptops")
    _post(client, headers, f"opportunities/{first}/process/next")
    _post(client, headers, f"opportunities/{first}/process/next")
    _post(client, headers, f"opportunities/{first}/process/previous")
    _post(client, headers, f"opportunities/{first}/win")
    _post(client, headers, f"opportunities/{first}/reopen")
    _post(client, headers, f"opportunities/{first}/lose", status_reason="canceled")
    _post(client, headers, f"opportunities/{second}/win", actual_revenue=99)
    lead = create(
        client, headers, "leads", topic="Chairs", last_name="Roe", company_name="Fabrikam"
    )
    qualified = _post(client, headers, f"leads/{lead['id']}/qualify")
    return [first, second, qualified["opportunity_id"]]


def _folded(session: Session, record: Opportunity) -> dict[str, str | None]:
    query = (
        select(OpportunityChange)
        .where(OpportunityChange.opportunity_id == record.id)
        .order_by(OpportunityChange.effective_at, OpportunityChange.seq)
    )
    values: dict[str, str | None] = dict.fromkeys(TRACKED_FIELDS)
    for change in session.scalars(query):
        assert values[change.field] == change.old_value, change.field
        values[change.field] = change.new_value
    return values


def test_every_path_writes_the_log_and_it_reads_back_to_the_records(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    ids = _journey(client, headers)
    with unit_of_work(factory) as session:
        records = list(session.scalars(select(Opportunity)))
        assert {str(r.id) for r in records} == set(ids)
        for record in records:
            expected = {field: encode(getattr(record, field)) for field in TRACKED_FIELDS}
            assert _folded(session, record) == expected
        fields = set(session.scalars(select(OpportunityChange.field)))
    assert {"active_stage", "pipeline_phase", "state", "estimated_value", "probability"} <= fields
    assert {
        "forecast_category",
        "estimated_close_date",
        "actual_value",
        "actual_close_date",
    } <= fields


def test_a_refused_change_writes_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    with unit_of_work(factory) as session:
        before = session.scalar(
            select(OpportunityChange.seq).order_by(OpportunityChange.seq.desc()).limit(1)
        )
    refused = client.post(f"/api/v1/opportunities/{oid}/process/next", headers=headers)
    assert refused.status_code == 409
    bad = client.patch(f"/api/v1/opportunities/{oid}", json={"probability": 101}, headers=headers)
    assert bad.status_code == 422
    with unit_of_work(factory) as session:
        after = session.scalar(
            select(OpportunityChange.seq).order_by(OpportunityChange.seq.desc()).limit(1)
        )
    assert after == before


def test_the_funnel_as_of_an_instant_is_the_funnel_served_then(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    links = qualify_fields(client, headers)
    ids = [
        create_opportunity(client, headers, estimated_value=100 * n, **links)["id"]
        for n in range(1, 5)
    ]
    for oid in ids[:3]:
        _patch(client, headers, oid, customer_need="Need", proposed_solution="Plan")
        _post(client, headers, f"opportunities/{oid}/process/next")
    served = client.get("/api/v1/analytics/funnel", headers=headers).json()["phases"]
    time.sleep(0.01)
    then = datetime.now(UTC)
    time.sleep(0.01)
    _post(client, headers, f"opportunities/{ids[0]}/process/next")
    _post(client, headers, f"opportunities/{ids[1]}/win")
    _patch(client, headers, ids[2], estimated_value=12345, probability=5)
    now = client.get("/api/v1/analytics/funnel", headers=headers).json()["phases"]
    assert now != served
    answer = client.get(
        "/api/v1/analytics/funnel", params={"as_of": then.isoformat()}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["phases"] == served


def test_the_migration_backfills_the_log_the_hook_would_have_written(
    engine: Engine, factory: sessionmaker[Session], client: TestClient
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with simulated_time(start):
        ids = [create_opportunity(client, headers, estimated_value=10.5)["id"]]
    for day, fields in enumerate(
        [{"estimated_value": 20}, {"probability": 35}, {"estimated_close_date": "2026-09-30"}],
        start=1,
    ):
        with simulated_time(start + timedelta(days=day)):
            _patch(client, headers, ids[0], **fields)
    written = _log(factory)
    migrate.downgrade(engine, "0004")
    migrate.upgrade(engine)
    assert _log(factory) == written
    assert written


def _log(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with unit_of_work(factory) as session:
        rows = session.execute(
            select(
                OpportunityChange.opportunity_id,
                OpportunityChange.field,
                OpportunityChange.old_value,
                OpportunityChange.new_value,
                OpportunityChange.effective_at,
            ).order_by(OpportunityChange.seq)
        )
        return [tuple(row) for row in rows]
