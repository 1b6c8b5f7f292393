"""A quote's life reaches the events feed (quote.created, .activated, .revised, .won,
.closed) in the transaction that made it, visible to whoever may read the quote."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create_opportunity, signed_in, user_in_unit

H = dict[str, str]


def post(client: TestClient, headers: H, path: str, **body: Any) -> Any:
    answer = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def quote_events(client: TestClient, headers: H, expect: int) -> list[tuple[str, str, int]]:
    """The quote events the caller reads, waiting (bounded) for ``expect`` of them: on
    PostgreSQL an event shows once every older transaction of the server has ended."""
    items: list[Any] = []
    after: str | None = None
    for _ in range(250):
        params = {"type": "quote.*", **({"after": after} if after else {})}
        answer = client.get("/api/v1/events", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        after = answer.json()["next_cursor"]
        if len(items) >= expect:
            break
        time.sleep(0.02)
    return [(e["type"], e["data"]["quote_number"], e["data"]["revision_number"]) for e in items]


def test_a_quote_life_is_in_the_feed_for_those_who_read_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    owner = signed_in(client, factory, "olga")
    oid = create_opportunity(client, owner)["id"]
    line = {"write_in_name": "Service", "quantity": 1, "price_per_unit": 100}
    post(client, owner, f"opportunities/{oid}/lines", **line)
    first = post(client, owner, f"opportunities/{oid}/quotes")
    post(client, owner, f"quotes/{first['id']}/activate")
    second = post(client, owner, f"quotes/{first['id']}/revise")
    post(client, owner, f"quotes/{second['id']}/activate")
    post(client, owner, f"quotes/{second['id']}/win", close_opportunity=False)
    spare = post(client, owner, f"opportunities/{oid}/quotes")
    post(client, owner, f"quotes/{spare['id']}/close", status_reason="lost")

    number, other = first["quote_number"], spare["quote_number"]
    assert quote_events(client, owner, 8) == [
        ("quote.created", number, 0),
        ("quote.activated", number, 0),
        ("quote.revised", number, 0),
        ("quote.created", number, 1),
        ("quote.activated", number, 1),
        ("quote.won", number, 1),
        ("quote.created", other, 0),
        ("quote.closed", other, 0),
    ]
    # A salesperson of another business unit reads neither the opportunity nor its quotes.
    stranger = user_in_unit(client, factory, "sven", "East")
    assert quote_events(client, stranger, 0) == []
