"""PostgreSQL's pooled connections: one that was idle long enough is checked before use, so a
connection the server closed meanwhile (a restart, an idle timeout) is replaced rather than
failing the request; one used a moment ago is not, which saves a round trip per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from oppflow import db
from tests.conftest import POSTGRES_UP, POSTGRES_URL, SKIP_POSTGRES

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_UP, reason=SKIP_POSTGRES),
]


@pytest.fixture
def pooled() -> Iterator[Engine]:
    """An engine of the product's own kind with one connection, idle in its pool."""
    engine = db.make_engine(POSTGRES_URL)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    yield engine
    engine.dispose()


def _close_from_the_server(engine: Engine, connections: int = 1) -> None:
    """What a restart or an idle timeout does to the pooled connections."""
    with ExitStack() as stack:
        opened = [stack.enter_context(engine.connect()) for _ in range(connections)]
        backends = [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in opened]
    with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), autocommit=True) as other:
        for backend in backends:
            other.execute("SELECT pg_terminate_backend(%s)", (backend,))


def test_a_connection_closed_while_idle_is_replaced(
    pooled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _close_from_the_server(pooled)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with pooled.connect() as connection:
        assert connection.execute(text("SELECT 42")).scalar_one() == 42


def test_a_connection_used_a_moment_ago_is_not_checked(pooled: Engine) -> None:
    """The price of skipping the round trip: had it been closed within the idle time, the first
    request to use it fails, and SQLAlchemy then replaces every connection of the pool."""
    _close_from_the_server(pooled)
    with pytest.raises(OperationalError), pooled.connect() as connection:
        connection.execute(text("SELECT 42"))
    with pooled.connect() as connection:
        assert connection.execute(text("SELECT 42")).scalar_one() == 42


def test_a_failed_check_replaces_every_pooled_connection(
    pooled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart every pooled connection is dead, the recently used ones too: the first
    failed check replaces them all, as SQLAlchemy's pool_pre_ping does."""
    _close_from_the_server(pooled, connections=2)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with pooled.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 1e9)
    with pooled.connect() as first, pooled.connect() as second:
        assert [c.execute(text("SELECT 2")).scalar_one() for c in (first, second)] == [2, 2]
