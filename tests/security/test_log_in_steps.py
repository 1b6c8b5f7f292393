"""A log-in checks its password outside any write transaction (an argon2 hash costs tens of
milliseconds, and on SQLite a writer's transaction holds the database's write lock), yet
attempts that overlap still count every wrong password and see each other's failures."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.config import get_settings
from oppflow.db import unit_of_work
from oppflow.models import AuditEntry, SecurityEpoch
from oppflow.security import passwords
from oppflow.security import service as security_service
from tests.helpers import PASSWORD, create_user

WRONG = "wrong-horse-9"
WAIT = 30


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)


class HeldChecks:
    """Password checks that wait for their password's gate; ``arrived`` counts them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gates = {WRONG: threading.Event(), PASSWORD: threading.Event()}
        self.arrived = threading.Semaphore(0)
        real = security_service.verify_password
        monkeypatch.setattr(security_service, "verify_password", self._held(real))

    def _held(self, real: Callable[[str | None, str], bool]) -> Callable[[str | None, str], bool]:
        def check(password_hash: str | None, password: str) -> bool:
            self.arrived.release()
            assert self.gates[password].wait(WAIT)
            return real(password_hash, password)

        return check

    def wait_for(self, count: int) -> None:
        for _ in range(count):
            assert self.arrived.acquire(timeout=WAIT), "a log-in never reached its check"


def _attempt(
    client: TestClient, password: str, answers: list[int], username: str = "alice"
) -> threading.Thread:
    def post() -> None:
        form = {"username": username, "password": password}
        answers.append(client.post("/api/v1/auth/token", data=form).status_code)

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def _count(factory: sessionmaker[Session], action: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        query = select(func.count()).where(AuditEntry.action == action)
        return session.scalar(query) or 0


def test_others_write_while_a_log_in_checks_its_password(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    create_user(factory, "alice")
    held, answers = HeldChecks(monkeypatch), []
    thread = _attempt(client, PASSWORD, answers)
    try:
        held.wait_for(1)
        with unit_of_work(factory) as session:  # failed as "database is locked" after 5 s
            session.execute(update(SecurityEpoch).values(value=SecurityEpoch.value + 1))
    finally:
        held.gates[PASSWORD].set()
        thread.join(timeout=WAIT)
    assert answers == [200]
    assert _count(factory, "login_success") == 1


def test_overlapping_attempts_count_every_failure_and_see_each_other(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    create_user(factory, "alice")
    limit = get_settings().login_max_failures
    held, wrong, right = HeldChecks(monkeypatch), list[int](), list[int]()
    # All of them pass the first throttle check before any password is checked.
    threads = [_attempt(client, WRONG, wrong) for _ in range(limit + 1)]
    threads.append(_attempt(client, PASSWORD, right))
    try:
        held.wait_for(limit + 2)
        held.gates[WRONG].set()
        for thread in threads[:-1]:
            thread.join(timeout=WAIT)
    finally:
        held.gates[WRONG].set()
        held.gates[PASSWORD].set()
        for thread in threads:
            thread.join(timeout=WAIT)
    # The failure past the limit is refused as throttled, and counted all the same.
    assert sorted(wrong) == [401] * limit + [429]
    assert _count(factory, "login_failure") == limit + 1
    # The right password, checked while the others failed, is refused by the second check.
    assert right == [429]
    assert _count(factory, "login_success") == 0


def test_overlapping_attempts_from_one_address_see_each_other(
    client: TestClient,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Different user names from one address: the address's limit holds as well."""
    monkeypatch.setenv("OPPFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    get_settings.cache_clear()
    held, answers = HeldChecks(monkeypatch), list[int]()
    names = ["ann", "ben", "cat", "dan"]
    threads = [_attempt(client, WRONG, answers, username=name) for name in names]
    try:
        held.wait_for(len(names))
    finally:
        held.gates[WRONG].set()
        for thread in threads:
            thread.join(timeout=WAIT)
        monkeypatch.delenv("OPPFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS")
        get_settings.cache_clear()
    assert sorted(answers) == [401, 401, 401, 429]
    assert _count(factory, "login_failure") == len(names)
