"""The feed: only events of records the caller may read, cursor-paged in a stable order."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import Event
from tests.events.journey import journey, post
from tests.helpers import create_opportunity, signed_in, user_in_unit


def _read_all(client: TestClient, headers: dict[str, str], expect: int, **query: Any) -> list[Any]:
    """Page through the feed until it has given ``expect`` events. On PostgreSQL, events
    show once every older transaction of the server has ended (other tests' too), so an
    empty page may come before the last ones: read on from its cursor, a bounded number of
    times."""
    items: list[Any] = []
    after = None
    for _ in range(500):
        params = {**query, "limit": 3, **({"after": after} if after else {})}
        answer = client.get("/api/v1/events", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        items += page["items"]
        if not page["items"]:
            assert page["next_cursor"] == (after or "0-0")
            if len(items) >= expect:
                return items
            time.sleep(0.02)
        after = page["next_cursor"]
    return items


def test_paging_reads_every_event_once_in_order(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    ids = journey(client, headers)
    with unit_of_work(factory) as session:
        count = session.scalar(select(func.count()).select_from(Event)) or 0
    items = _read_all(client, headers, count)
    assert len({item["id"] for item in items}) == len(items) == count > 20
    first = [item for item in items if item["record_id"] == ids["first"]]
    assert [item["sequence"] for item in first] == sorted(item["sequence"] for item in first)
    gone = [item["type"] for item in items if item["record_id"] == ids["gone"]]
    assert gone == ["opportunity.created", "opportunity.deleted"]


def test_a_salesperson_sees_only_the_events_of_records_they_may_read(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    alice = signed_in(client, factory, "alice")
    # Another business unit's: a salesperson reads the records of their own unit.
    bob = user_in_unit(client, factory, "bob", "East")
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    mine = create_opportunity(client, alice, name="Alice's")["id"]
    theirs = create_opportunity(client, bob, name="Bob's")["id"]
    post(client, bob, f"opportunities/{theirs}/lose", status_reason="canceled")
    deleted = client.delete(f"/api/v1/opportunities/{mine}", headers=alice)
    assert deleted.status_code == 204
    seen = {(item["record_id"], item["type"]) for item in _read_all(client, alice, 2)}
    assert seen == {(mine, "opportunity.created"), (mine, "opportunity.deleted")}
    everyone = {item["record_id"] for item in _read_all(client, admin, 5)}
    assert everyone == {mine, theirs}


def test_types_filter_exact_and_by_kind(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    journey(client, headers)
    leads = _read_all(client, headers, 2, type="lead.*")
    assert {item["type"] for item in leads} == {"lead.qualified", "lead.disqualified"}
    won = _read_all(client, headers, 3, type=["opportunity.won", "opportunity.lost"])
    assert sorted(item["type"] for item in won) == [
        "opportunity.lost",
        "opportunity.won",
        "opportunity.won",
    ]


def test_bad_cursors_and_types_are_problems(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    for params in ({"after": "abc"}, {"after": "1-99999999999999999999"}, {"type": "deal.*"}):
        answer = client.get("/api/v1/events", params=params, headers=headers)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/events").status_code == 401
