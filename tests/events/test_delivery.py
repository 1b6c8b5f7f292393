"""Webhooks delivered to a real HTTP server: signed, in order per record, exactly once."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from oppflow.db import unit_of_work
from oppflow.events import worker
from oppflow.models import Event
from tests.events.journey import journey
from tests.events.receiver import Receiver
from tests.helpers import signed_in


def subscribe(client: TestClient, headers: dict[str, str], url: str, **fields: Any) -> Any:
    fields.setdefault("events", ["opportunity.*", "lead.*"])
    answer = client.post("/api/v1/webhooks", json={"url": url, **fields}, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["secret"].startswith("whsec_")
    return answer.json()


def drain(factory: sessionmaker[Session], until: Any, rounds: int = 1500) -> None:
    """Run the worker's steps until ``until()`` holds (bounded; retries are due in ms, but on
    PostgreSQL an event waits for every older transaction on the server to end)."""
    with worker.http_client() as http:
        for _ in range(rounds):
            if until():
                return
            if not worker.run_once(factory, http):
                time.sleep(0.02)
    assert until(), "the deliveries did not all arrive"


def event_ids(factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(factory) as session:
        return [str(i) for i in session.scalars(select(Event.id).order_by(Event.seq))]


def test_every_event_of_a_journey_arrives_signed_and_in_order_per_record(
    client: TestClient, factory: sessionmaker[Session], receiver: Receiver
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    secret = subscribe(client, admin, receiver.url)["secret"]
    journey(client, admin)
    expected = event_ids(factory)
    drain(factory, lambda: len(receiver.received) >= len(expected))
    bodies = [
        Webhook(secret).verify(item.body.decode(), item.headers) for item in receiver.received
    ]
    assert sorted(receiver.ids()) == sorted(expected)
    assert [body["id"] for body in bodies] == receiver.ids()
    by_record: dict[str, list[int]] = {}
    for body in bodies:
        by_record.setdefault(body["record_id"], []).append(body["sequence"])
    for sequences in by_record.values():
        assert sequences == sorted(sequences)
    assert {body["type"] for body in bodies} >= {
        "opportunity.created",
        "opportunity.updated",
        "opportunity.stage_changed",
        "opportunity.won",
        "opportunity.lost",
        "opportunity.reopened",
        "opportunity.deleted",
        "lead.qualified",
        "lead.disqualified",
    }


def test_receiver_down_then_up_gets_every_event_once_and_the_log_shows_retries(
    client: TestClient, factory: sessionmaker[Session], receiver: Receiver
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    webhook = subscribe(client, admin, receiver.url, events=["opportunity.won", "lead.*"])
    receiver.up = False
    journey(client, admin)
    drain(factory, lambda: receiver.refused >= 6)
    receiver.up = True
    with unit_of_work(factory) as session:
        wanted = session.scalars(
            select(Event.id).where(Event.type.in_(["opportunity.won", "lead.qualified"]))
        ).all()
    expected = {str(i) for i in wanted} | set(_lead_disqualified(factory))
    drain(factory, lambda: set(receiver.ids()) == expected)
    assert len(receiver.ids()) == len(expected)
    log = client.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=admin).json()
    assert {item["status"] for item in log["items"]} == {"succeeded"}
    retried = [item for item in log["items"] if item["attempts"] > 1]
    assert retried
    for item in retried:
        statuses = [attempt["status_code"] for attempt in item["log"]]
        assert statuses[-1] == 204
        assert set(statuses[:-1]) == {503}


def _lead_disqualified(factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(factory) as session:
        query = select(Event.id).where(Event.type == "lead.disqualified")
        return [str(i) for i in session.scalars(query)]


def test_resend_delivers_the_same_event_id_again(
    client: TestClient, factory: sessionmaker[Session], receiver: Receiver
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    webhook = subscribe(client, admin, receiver.url, events=["opportunity.created"])
    client.post("/api/v1/opportunities", json={"name": "Once"}, headers=admin)
    drain(factory, lambda: len(receiver.received) == 1)
    log = client.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=admin).json()
    delivery = log["items"][0]
    path = f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/resend"
    answer = client.post(path, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "pending"
    drain(factory, lambda: len(receiver.received) == 2)
    assert receiver.ids() == [delivery["event_id"]] * 2
    first, again = (json.loads(item.body) for item in receiver.received)
    assert first == again
    missing = client.post(f"{path.rsplit('/', 2)[0]}/{uuid.uuid4()}/resend", headers=admin)
    assert missing.status_code == 404
