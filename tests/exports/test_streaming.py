"""A large export is read a page at a time, each page in a unit of work of its own, and written
as it comes: never the whole table in memory, nor one transaction for the whole download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.exports import service
from oppflow.exports.service import ExportRequest
from oppflow.models import Account
from oppflow.records import owned_values, stamp_new
from oppflow.security import service as security_service
from oppflow.security.actor import Actor
from tests.helpers import create_user, login

ROWS = 5_000
PAGE = 500


def actor_of(factory: sessionmaker[Session], username: str) -> Actor:
    with unit_of_work(factory) as session:
        return security_service.actor_by_username(session, username)


def many_accounts(factory: sessionmaker[Session], actor: Actor, count: int) -> None:
    """``count`` accounts in one flush: the audit, change-log and event hooks run as for any
    write, but without 5,000 round trips of the service's flush per record."""
    with unit_of_work(factory) as session:
        values = owned_values(session, actor, "account", {})
        accounts = []
        for number in range(count):
            account = Account(name=f"=Account {number:05}", **values)
            stamp_new(account, actor)
            accounts.append(account)
        session.add_all(accounts)


@contextmanager
def page_queries(engine: Engine) -> Iterator[list[str]]:
    """The SELECTs on accounts that run meanwhile."""
    seen: list[str] = []

    def heard(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM accounts" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", heard)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", heard)


@pytest.fixture
def scene(factory: sessionmaker[Session]) -> Actor:
    create_user(factory, "admin", roles=["system-administrator"])
    actor = actor_of(factory, "admin")
    many_accounts(factory, actor, ROWS)
    return actor


def test_pages_are_read_as_the_file_is_taken(
    factory: sessionmaker[Session], engine: Engine, scene: Actor
) -> None:
    plan = service.plan(scene, ExportRequest(table="accounts"))
    units: list[int] = []

    @contextmanager
    def counted_unit() -> Iterator[Session]:
        units.append(1)
        with unit_of_work(factory, read_only=True) as session:
            yield session

    with page_queries(engine) as seen:
        chunks = service.stream(plan, counted_unit, page_size=PAGE)
        header = next(chunks)
        assert header.startswith("id,created_at,")
        assert (len(seen), len(units)) == (0, 0)
        first = next(chunks)
        # One page read, and only one: the rest waits for the reader.
        assert (len(seen), len(units)) == (1, 1)
        assert first.count("\r\n") == PAGE
        rest = list(chunks)
    pages = ROWS // PAGE
    assert len(rest) == pages - 1
    # Every full page, then one that finds nothing; each in a unit of work of its own.
    assert (len(seen), len(units)) == (pages + 1, pages + 1)
    assert all("LIMIT" in statement.upper() for statement in seen)
    names = [row["name"] for row in csv.DictReader(io.StringIO(header + first + "".join(rest)))]
    assert len(names) == len(set(names)) == ROWS
    assert all(name.startswith("'=Account") for name in names)


def test_the_api_streams_every_row_in_pages(
    client: TestClient, engine: Engine, scene: Actor
) -> None:
    headers = login(client, "admin")
    path = "/api/v1/exports/accounts"
    with page_queries(engine) as seen, client.stream("GET", path, headers=headers) as answer:
        assert answer.status_code == 200
        text = "".join(answer.iter_text())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len({row["id"] for row in rows}) == ROWS
    assert len(seen) == ROWS // service.PAGE_SIZE + 1
