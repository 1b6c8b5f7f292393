"""The bad-input sweep's database snapshot sees every change, on both databases: a row added,
a row deleted, and one column of one row changed; and its count of commits, which decides
when a snapshot is taken, changes with every committed write and with no rolled-back one."""

from __future__ import annotations

from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import Role
from tests.api.test_bad_input import commits_seen, db_snapshot, snapshot_changes


def test_the_snapshot_sees_a_changed_column(factory: sessionmaker[Session]) -> None:
    before = db_snapshot(factory)
    assert before["roles"][0] > 0, "the built-in roles are there to change"
    assert db_snapshot(factory) == before, "reading twice gives the same snapshot"
    with unit_of_work(factory) as session:
        session.execute(update(Role).where(Role.key == "salesperson").values(name="Vendeur"))
    after = db_snapshot(factory)
    assert snapshot_changes(before, after) == [
        f"roles ({before['roles'][0]} → {before['roles'][0]} rows)"
    ]


def test_the_count_of_commits_sees_writes_committed_and_not_rolled_back(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with commits_seen(engine) as commits:
        start = commits()
        assert commits() == start, "looking changes nothing"
        with factory() as session:
            session.execute(update(Role).where(Role.key == "salesperson").values(name="Vendeur"))
            session.rollback()
        assert commits() == start, "a write rolled back is not counted"
        with unit_of_work(factory) as session:
            session.execute(update(Role).where(Role.key == "salesperson").values(name="Vendeur"))
        assert commits() != start, "a committed write is"
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            # This test's schema only: another test process may be counting in its own.
            left = (
                "SELECT count(*) FROM pg_trigger"
                " WHERE tgname = 'bad_input_write' AND pg_table_is_visible(tgrelid)"
            )
            assert connection.execute(text(left)).scalar_one() == 0, "the triggers are gone"
