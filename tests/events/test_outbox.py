"""Every path that changes an opportunity or a lead writes its events in the same transaction."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import Event, Opportunity
from tests.events.journey import journey
from tests.helpers import create_opportunity, signed_in


def _types(session: Session, record_id: str) -> list[str]:
    query = select(Event).where(Event.record_id == uuid.UUID(record_id)).order_by(Event.record_seq)
    return [event.type for event in session.scalars(query)]


def test_a_journey_writes_each_records_events_in_order(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    ids = journey(client, headers)
    with unit_of_work(factory) as session:
        first = _types(session, ids["first"])
        assert first == [
            "opportunity.created",
            *["opportunity.updated"] * 2,
            *["opportunity.stage_changed"] * 3,
            "opportunity.updated",
            "opportunity.won",
            "opportunity.reopened",
            *["opportunity.updated"] * 2,
            "opportunity.lost",
        ]
        assert _types(session, ids["lead"]) == ["lead.qualified"]
        assert _types(session, ids["other_lead"]) == ["lead.disqualified"]
        assert _types(session, ids["gone"]) == ["opportunity.created", "opportunity.deleted"]
        assert _types(session, ids["from_lead"]) == [
            "opportunity.created",
            "opportunity.stage_changed",
        ]
        moves = session.scalars(
            select(Event)
            .where(
                Event.record_id == uuid.UUID(ids["first"]),
                Event.type == "opportunity.stage_changed",
            )
            .order_by(Event.record_seq)
        ).all()
        assert [(m.payload["kind"], m.payload["from"], m.payload["to"]) for m in moves][-2:] == [
            ("next", "develop", "propose"),
            ("previous", "propose", "develop"),
        ]
        won = session.scalars(select(Event).where(Event.type == "opportunity.won")).first()
        assert won is not None
        assert won.payload["status_reason"] == "won"


def test_record_sequences_increase_and_ids_are_unique(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    ids = journey(client, headers)
    with unit_of_work(factory) as session:
        rows = session.scalars(select(Event).order_by(Event.seq)).all()
        versions = {o.id: o.version for o in session.scalars(select(Opportunity))}
    assert len({row.id for row in rows}) == len(rows)
    for record_id in ids.values():
        mine = [row.record_seq for row in rows if str(row.record_id) == record_id]
        assert mine == sorted(set(mine))
    last = [row for row in rows if str(row.record_id) == ids["first"]][-1]
    assert last.record_version == versions[last.record_id]


def _change_then_fail(factory: sessionmaker[Session], oid: str, before: int | None) -> None:
    with unit_of_work(factory) as session:
        opportunity = session.get(Opportunity, uuid.UUID(oid))
        assert opportunity is not None
        opportunity.estimated_value = Decimal(123)
        session.flush()
        assert session.scalar(select(func.count()).select_from(Event)) == (before or 0) + 1
        raise RuntimeError("the edge fails after the flush")


def test_a_change_rolled_back_emits_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    with unit_of_work(factory) as session:
        before = session.scalar(select(func.count()).select_from(Event))
    with pytest.raises(RuntimeError, match="after the flush"):
        _change_then_fail(factory, oid, before)
    refused = client.post(f"/api/v1/opportunities/{oid}/process/next", headers=headers)
    assert refused.status_code == 409
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == before
