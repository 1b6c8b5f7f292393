"""On SQLite, the readable ids a report tests summary rows against are written once per
transaction into a temporary table (``analytics/kept_ids.py``): the same ids twice read one
table, other ids get another, a read-only transaction may write them, and none outlives its
transaction."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, Select, literal, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import kept_ids
from oppflow.db import unit_of_work
from oppflow.models import BusinessUnit
from tests.analytics.test_closed_deals import StatementLog

IDS = [uuid.uuid4().hex for _ in range(3)]


@pytest.fixture(autouse=True)
def _sqlite_only(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans the IN as a semi-join: nothing to keep")


def _ids(*values: str) -> Select[Any]:
    """A select of ``values``, one twice (a record reached two ways comes twice)."""
    rows = (select(literal(value).label("id")) for value in (*values, values[0]))
    return select(union_all(*rows).subquery().c.id)


def _temporary_tables(session: Session) -> list[str]:
    found = session.connection().exec_driver_sql("SELECT name FROM sqlite_temp_master")
    return sorted(name for (name,) in found if name.startswith("oppflow_kept_ids"))


def test_the_same_ids_are_written_once_and_read_by_key(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    with unit_of_work(factory, read_only=True) as session, StatementLog(engine) as seen:
        first = session.execute(kept_ids.kept(session, _ids(*IDS))).scalars().all()
        again = session.execute(kept_ids.kept(session, _ids(*IDS))).scalars().all()
        other = session.execute(kept_ids.kept(session, _ids(IDS[0]))).scalars().all()
        assert _temporary_tables(session) == ["oppflow_kept_ids_0", "oppflow_kept_ids_1"]
    assert sorted(first) == sorted(again) == sorted(IDS)
    assert other == [IDS[0]]
    assert sum(statement.startswith("INSERT OR IGNORE") for statement in seen) == 2


def _failing_after_keeping(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory, read_only=True) as session:
        session.execute(kept_ids.kept(session, _ids(*IDS))).all()
        raise RuntimeError("the request failed")


def test_no_table_outlives_its_transaction(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory, read_only=True) as session:
        session.execute(kept_ids.kept(session, _ids(*IDS))).all()
    with pytest.raises(RuntimeError):
        _failing_after_keeping(factory)
    with unit_of_work(factory, read_only=True) as session:
        assert _temporary_tables(session) == []
        # A new transaction fills its own table again.
        again = session.execute(kept_ids.kept(session, _ids(IDS[1]))).scalars().all()
        assert again == [IDS[1]]


def test_a_released_savepoint_keeps_the_tables_and_a_rolled_back_one_forgets_them(
    factory: sessionmaker[Session],
) -> None:
    with unit_of_work(factory) as session:
        before = session.execute(kept_ids.kept(session, _ids(*IDS))).scalars().all()
        with session.begin_nested():
            session.execute(kept_ids.kept(session, _ids(IDS[2]))).all()
        assert _temporary_tables(session) == ["oppflow_kept_ids_0", "oppflow_kept_ids_1"]
        savepoint = session.begin_nested()
        session.execute(kept_ids.kept(session, _ids(IDS[1]))).all()
        savepoint.rollback()
        # Forgotten: filled again, whatever the rollback undid.
        after = session.execute(kept_ids.kept(session, _ids(*IDS))).scalars().all()
    assert sorted(before) == sorted(after) == sorted(IDS)
    with unit_of_work(factory, read_only=True) as session:
        assert _temporary_tables(session) == []


def test_a_flush_between_two_reports_makes_the_second_read_the_ids_again(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    with unit_of_work(factory) as session, StatementLog(engine) as seen:
        session.execute(kept_ids.kept(session, _ids(*IDS))).all()
        session.add(BusinessUnit(name="Flushed between two reports"))
        session.execute(kept_ids.kept(session, _ids(*IDS))).all()
    assert sum(statement.startswith("INSERT OR IGNORE") for statement in seen) == 2


def test_a_commit_midway_drops_the_tables_and_the_next_transaction_fills_its_own(
    factory: sessionmaker[Session],
) -> None:
    with unit_of_work(factory, read_only=True) as session:
        session.execute(kept_ids.kept(session, _ids(*IDS))).all()
        session.commit()  # as release_request_transaction does
        assert _temporary_tables(session) == []
        again = session.execute(kept_ids.kept(session, _ids(*IDS))).scalars().all()
    assert sorted(again) == sorted(IDS)
