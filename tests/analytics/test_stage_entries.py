"""Each opportunity's stage entry (decision 0034) is its change log's last change of process,
stage or state: stamped in the UPDATE that writes the change, never moved back by a change
dated earlier, and filled by its migration without touching the records' modification."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.analytics import changelog
from oppflow.analytics.options import Period
from oppflow.analytics.repository import AnalyticsRepository
from oppflow.analytics.schemas import FunnelFilters
from oppflow.db import unit_of_work
from oppflow.models import Opportunity
from oppflow.security import service as security_service
from tests.analytics.closed import assert_stage_entries_follow_the_log
from tests.analytics.test_change_log import _journey, _post
from tests.analytics.test_closed_deals import StatementLog
from tests.helpers import create_opportunity, qualify_fields, signed_in


def _entered(factory: sessionmaker[Session], opportunity_id: uuid.UUID) -> datetime | None:
    with factory() as session:
        return session.scalar(
            select(Opportunity.stage_entered_at).where(Opportunity.id == opportunity_id)
        )


def test_a_move_stamps_its_entry_in_the_update_that_writes_it(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    made = uuid.UUID(create_opportunity(client, headers, **qualify_fields(client, headers))["id"])
    born = _entered(factory, made)
    assert born is not None
    with StatementLog(engine) as seen:
        _post(client, headers, f"opportunities/{made}/process/next")
    updates = [s for s in seen if s.startswith("UPDATE opportunities ")]
    assert len(updates) == 1
    assert "stage_entered_at" in updates[0]
    moved = _entered(factory, made)
    assert moved is not None
    assert moved > born
    assert_stage_entries_follow_the_log(factory)


def test_a_change_dated_before_the_entry_never_moves_it_back(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Whether the record's entry was loaded (compared in Python) or expired (compared by the
    database in the UPDATE)."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    made = uuid.UUID(create_opportunity(client, headers, **qualify_fields(client, headers))["id"])
    _post(client, headers, f"opportunities/{made}/process/next")
    entered = _entered(factory, made)
    before = datetime.now(UTC) - timedelta(days=400)
    for expired, stage in ((False, "propose"), (True, "close")):
        with unit_of_work(factory) as session, changelog.effective_at(session, before):
            _set(session, made, expired, active_stage=stage)
        assert _entered(factory, made) == entered
        assert_stage_entries_follow_the_log(factory)


def _set(session: Session, opportunity_id: uuid.UUID, expired: bool, **values: Any) -> None:
    record = session.get(Opportunity, opportunity_id)
    assert record is not None
    if expired:
        session.expire(record, ["stage_entered_at"])
    for name, value in values.items():
        setattr(record, name, value)


def test_the_migration_fills_the_entries_and_leaves_each_record_as_it_was(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    stamps = select(Opportunity.id, Opportunity.modified_at, Opportunity.version)
    with factory() as session:
        before = session.execute(stamps).all()
    migrate.downgrade(engine, "0018")
    migrate.upgrade(engine)
    assert_stage_entries_follow_the_log(factory)
    with factory() as session:
        assert session.execute(stamps).all() == before
        assert None not in session.scalars(select(Opportunity.stage_entered_at)).all()


def test_the_cohort_read_from_the_driver_holds_the_values_the_orm_would(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """The cohort of now skips SQLAlchemy's rows (``_driver_rows``): each member's value is
    still the Decimal the money type makes of the column, on either database."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    for value in (None, 0, "1000.5", "0.0001", "123456789.1234"):
        create_opportunity(client, headers, estimated_value=value, **links)
    _journey(client, headers)
    window = Period(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "alice")
        rows = AnalyticsRepository(session, actor).cohort_now(
            FunnelFilters(), window, "1-Qualify", entered=False
        )
        by_orm = session.scalars(select(Opportunity.estimated_value)).all()
    assert len(rows) == len(by_orm) >= 6
    found = sorted(((row[1] is None, row[1] or 0, type(row[1])) for row in rows), key=str)
    expected = sorted(((value is None, value or 0, type(value)) for value in by_orm), key=str)
    assert found == expected
    assert {str(row[1]) for row in rows} >= {"1000.5000", "0.0001", "123456789.1234", "None"}


def test_alike_members_of_a_cohort_as_of_an_instant_are_counted_and_summed_exactly(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """The cohort as of an instant is grouped by the database (decision 0047): alike members
    come as one row, their count and their values joined as text, summed as Decimals; the
    cohort of now reads them one by one. Both answer the same."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    for value in (None, "0.0001", "123456789.1234", None):
        create_opportunity(client, headers, estimated_value=value, probability=40)
    for _ in range(2):  # a group whose values are all missing
        create_opportunity(client, headers, probability=70)
    moment = datetime.now(UTC) + timedelta(milliseconds=1)
    for report in ("funnel", "conversion"):
        now = _report(client, headers, report, {"mode": "any"})
        then = _report(client, headers, report, {"mode": "any", "as_of": moment.isoformat()})
        assert then == now
    first = _report(client, headers, "funnel", {"mode": "any"})[0]
    assert first["count"] == 6
    assert Decimal(str(first["estimated_value"])) == Decimal("123456789.12")
    assert Decimal(str(first["weighted_value"])) == Decimal("49382715.65")  # 40 % of it


def _report(
    client: TestClient, headers: dict[str, str], name: str, params: dict[str, str]
) -> list[Any]:
    answer = client.get(f"/api/v1/analytics/{name}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return list(body["phases"] if name == "funnel" else body["rows"])
