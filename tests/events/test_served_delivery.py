"""``oppflow serve`` on SQLite delivers webhooks from a thread beside the server: no separate
worker process to run on a single machine."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.events.receiver import Receiver
from tests.events.test_workers import wait_for
from tests.helpers import signed_in
from tests.served import served


def test_serve_on_sqlite_delivers_webhooks_without_a_worker_process(
    engine: Engine,
    factory: sessionmaker[Session],
    client: TestClient,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip(
            "on PostgreSQL, `oppflow worker` processes deliver (tests/events/test_workers.py)"
        )
    admin = signed_in(client, factory, roles=["system-administrator"])
    with served(engine, tmp_path) as base, httpx.Client(base_url=base, headers=admin) as http:
        subscribed = http.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["opportunity.*"]}
        )
        assert subscribed.status_code == 201, subscribed.text
        created = http.post("/api/v1/opportunities", json={"name": "Served deal"})
        assert created.status_code == 201, created.text
        wait_for(lambda: len(receiver.received) == 1, rounds=750)
    (item,) = receiver.received
    assert item.headers["webhook-id"]
    assert created.json()["id"].encode() in item.body
