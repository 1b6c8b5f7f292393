"""Workers: a killed one loses nothing, two never send one event at the same time, and a
subscription that keeps failing is disabled with a notice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.config import get_settings
from oppflow.db import unit_of_work
from oppflow.events import delivery, worker
from oppflow.models import (
    AuditEntry,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.events.receiver import Receiver, running_receiver
from tests.events.test_delivery import drain, event_ids, subscribe
from tests.helpers import create_opportunity, signed_in


def wait_for(condition: Callable[[], bool], rounds: int = 1500) -> None:
    """Poll ``condition`` (bounded: the test fails rather than hangs)."""
    for _ in range(rounds):
        if condition():
            return
        time.sleep(0.02)
    assert condition()


def _worker_process(engine: Engine) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OPPFLOW_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "OPPFLOW_WEBHOOK_LEASE_SECONDS": "1",
    }
    command = [sys.executable, "-m", "oppflow", "worker", "--poll", "0.05"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _some_events(client: TestClient, headers: dict[str, str], records: int) -> None:
    for number in range(records):
        oid = create_opportunity(client, headers, name=f"Deal {number}")["id"]
        answer = client.patch(
            f"/api/v1/opportunities/{oid}", json={"probability": number % 100}, headers=headers
        )
        assert answer.status_code == 200


def test_a_worker_killed_mid_delivery_loses_nothing(
    client: TestClient, engine: Engine, factory: sessionmaker[Session], local_webhooks: None
) -> None:
    with running_receiver(hang=threading.Event()) as receiver:
        assert receiver.hang is not None
        admin = signed_in(client, factory, roles=["system-administrator"])
        subscribe(client, admin, receiver.url)
        _some_events(client, admin, 3)
        first = _worker_process(engine)
        try:
            wait_for(lambda: bool(receiver.in_flight))
            hung = next(iter(receiver.in_flight))
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        receiver.hang.set()
        second = _worker_process(engine)
        try:
            expected = event_ids(factory)
            wait_for(lambda: sorted(receiver.ids()) == sorted(expected))
        finally:
            second.terminate()
            second.wait()
    assert hung in receiver.ids()
    assert len(receiver.ids()) == len(expected)


@contextmanager
def _threads(factory: sessionmaker[Session], count: int) -> Iterator[None]:
    stop = threading.Event()
    threads = [
        threading.Thread(target=worker.run, args=(factory, stop), kwargs={"poll_seconds": 0.02})
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def test_two_workers_never_send_one_event_at_once_and_keep_each_records_order(
    client: TestClient, factory: sessionmaker[Session], local_webhooks: None
) -> None:
    with running_receiver(delay=0.005) as receiver:
        admin = signed_in(client, factory, roles=["system-administrator"])
        subscribe(client, admin, receiver.url, events=["opportunity.*"])
        _some_events(client, admin, 12)
        expected = event_ids(factory)
        with _threads(factory, 2):
            wait_for(lambda: len(receiver.ids()) >= len(expected))
    assert receiver.overlaps == []
    assert sorted(receiver.ids()) == sorted(expected)
    _in_record_order(receiver, factory)


def _in_record_order(receiver: Receiver, factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        sequence = {str(e.id): (e.record_id, e.record_seq) for e in session.scalars(select(Event))}
    last: dict[object, tuple[int, float]] = {}
    for item in sorted(receiver.received, key=lambda item: item.started):
        record, seq = sequence[item.headers["webhook-id"]]
        if record in last:
            assert last[record][0] < seq
            assert last[record][1] <= item.started  # the next began after the last answered
        last[record] = (seq, item.ended)


def test_a_subscription_failing_again_and_again_is_disabled_with_a_notice(
    client: TestClient,
    factory: sessionmaker[Session],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPPFLOW_WEBHOOK_DISABLE_AFTER", "3")
    get_settings.cache_clear()
    receiver.up = False
    admin = signed_in(client, factory, roles=["system-administrator"])
    webhook = subscribe(client, admin, receiver.url)
    create_opportunity(client, admin)
    path = f"/api/v1/webhooks/{webhook['id']}"
    drain(factory, lambda: not client.get(path, headers=admin).json()["enabled"])
    shown = client.get(path, headers=admin).json()
    assert shown["disabled_reason"] == "Disabled after 3 failed deliveries in a row."
    with unit_of_work(factory) as session:
        notices = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "webhook_disabled")
        ).all()
    assert [str(n.record_id) for n in notices] == [webhook["id"]]
    assert receiver.refused == 3
    receiver.up = True
    enabled = client.patch(path, json={"enabled": True}, headers=admin)
    assert enabled.json()["enabled"] is True
    drain(factory, lambda: len(receiver.received) == 1)


def _failures_in_a_row(factory: sessionmaker[Session], webhook_id: str) -> int:
    with unit_of_work(factory) as session:
        subscription = session.get(WebhookSubscription, uuid.UUID(webhook_id))
        assert subscription is not None
        return subscription.consecutive_failures


def dispatched(factory: sessionmaker[Session], deliveries: int) -> None:
    """Dispatch until ``deliveries`` exist: on PostgreSQL an event is dispatched once no older
    transaction is still open anywhere on the server (another test's, say), not at commit."""

    def done() -> bool:
        with unit_of_work(factory) as session:
            delivery.dispatch(session)
            return len(session.scalars(select(WebhookDelivery.id)).all()) >= deliveries

    wait_for(done)


def _statuses(factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(factory) as session:
        return sorted(session.scalars(select(WebhookDelivery.status)))


def test_a_batch_is_settled_at_once_and_counts_its_failures_in_a_row(
    client: TestClient, factory: sessionmaker[Session], receiver: Receiver
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    webhook = subscribe(client, admin, receiver.url)
    for number in range(3):
        create_opportunity(client, admin, name=f"Deal {number}")
    receiver.up = False
    dispatched(factory, 3)
    with worker.http_client() as http:
        assert worker.run_once(factory, http, batch=10) == 3
        assert _failures_in_a_row(factory, webhook["id"]) == 3
        assert _statuses(factory) == ["pending"] * 3
        receiver.up = True
        time.sleep(0.2)  # the retries fall due (local_webhooks: 0.1 s at most)
        assert worker.run_once(factory, http, batch=10) == 3
    assert _failures_in_a_row(factory, webhook["id"]) == 0
    assert _statuses(factory) == ["succeeded"] * 3
    assert len(receiver.received) == 3


def test_a_delivery_claimed_again_after_its_lease_ran_out_is_left_to_its_new_holder(
    client: TestClient, factory: sessionmaker[Session], receiver: Receiver
) -> None:
    admin = signed_in(client, factory, roles=["system-administrator"])
    subscribe(client, admin, receiver.url)
    create_opportunity(client, admin)
    dispatched(factory, 1)
    with unit_of_work(factory) as session:
        (late,) = delivery.claim(session, 10)
    with unit_of_work(factory) as session:  # its lease ran out; another worker took it
        session.execute(update(WebhookDelivery).values(attempts=WebhookDelivery.attempts + 1))
    with worker.http_client() as http:
        outcome = delivery.send(http, late)
    with unit_of_work(factory) as session:
        delivery.finish(session, [(late, outcome)])
        held = session.scalars(select(WebhookDelivery)).one()
        assert (held.status, held.attempts) == ("delivering", 2)
        assert session.scalars(select(WebhookAttempt)).all() == []


def test_an_idle_worker_writes_nothing_to_a_sqlite_database(
    engine: Engine, client: TestClient, factory: sessionmaker[Session], receiver: Receiver
) -> None:
    """Under ``oppflow serve`` on SQLite the worker polls every second: an idle round must not
    commit a change (the WAL would grow, and every reader's cache be dropped, each second)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's data_version counts other connections' commits")
    admin = signed_in(client, factory, roles=["system-administrator"])
    subscribe(client, admin, receiver.url)  # which makes the dispatcher's cursor
    watcher = sqlite3.connect(str(engine.url.database))
    with worker.http_client() as http:
        before = watcher.execute("PRAGMA data_version").fetchone()
        for _ in range(3):
            assert worker.run_once(factory, http) == 0
    assert watcher.execute("PRAGMA data_version").fetchone() == before
    watcher.close()
