"""The bad-input sweep's database snapshot sees every change, on both databases: a row added,
a row deleted, and one column of one row changed."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import Role
from tests.api.test_bad_input import db_snapshot, snapshot_changes


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
