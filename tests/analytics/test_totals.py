"""The maintained totals: writers append deltas, folds add them to the totals, and what a
reader sees (totals plus unfolded deltas) always equals a recount of the opportunities."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import totals
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, TotalDelta
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import OpportunityCreate, OpportunityUpdate
from oppflow.security.service import actor_by_username
from tests.analytics.test_change_log import _journey
from tests.helpers import create_user, signed_in

Sums = dict[tuple[Any, ...], tuple[int, Decimal, Decimal, Decimal]]


def _plain(found: dict[tuple[Any, ...], totals.Contribution]) -> Sums:
    return {
        key: (c.count, c.value, c.probable, c.unweighted)
        for key, c in found.items()
        if c.count or c.value or c.probable or c.unweighted
    }


def _recount(session: Session, summary: totals.Summary) -> Sums:
    fields = [getattr(Opportunity, field) for field in totals.FIELDS]
    rows = (dict(zip(totals.FIELDS, row, strict=True)) for row in session.execute(select(*fields)))
    found = (totals.contribution(values, summary) for values in rows)
    return _plain(totals._summed(c for c in found if c is not None))


def _folded_only(session: Session, summary: totals.Summary) -> Sums:
    rows = session.execute(select(summary.model.__table__)).mappings()
    return _plain(totals.merged(rows, summary))


def _read(session: Session, summary: totals.Summary) -> Sums:
    """What readers see: the totals and the deltas not folded yet."""
    deltas = session.execute(
        select(TotalDelta.__table__).where(TotalDelta.summary == summary.name)
    ).mappings()
    folded = session.execute(select(summary.model.__table__)).mappings()
    return _plain(totals.merged([*folded, *deltas], summary))


def _delta_count(session: Session) -> int:
    return len(session.scalars(select(TotalDelta.seq)).all())


def test_readers_see_exact_totals_before_and_after_a_fold(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(totals, "FOLD_ROWS", 10**9)  # no writer folds: the test does
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    with unit_of_work(factory) as session:
        assert _delta_count(session) > 0
        for summary in totals.SUMMARIES:
            assert _read(session, summary) == _recount(session, summary), summary.name
        folded = totals.fold(session)
    assert folded > 0
    with unit_of_work(factory) as session:
        assert _delta_count(session) == 0
        for summary in totals.SUMMARIES:
            assert _folded_only(session, summary) == _recount(session, summary), summary.name
        assert totals.fold(session) == 0


def test_a_writer_folds_once_its_process_appended_fold_rows_deltas(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(totals, "FOLD_ROWS", 1)
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    with unit_of_work(factory) as session:
        # Each commit flushed, then folded what it and the ones before it appended.
        assert _delta_count(session) == 0
        for summary in totals.SUMMARIES:
            assert _read(session, summary) == _recount(session, summary), summary.name


def test_a_fold_in_a_batch_smaller_than_the_deltas_leaves_the_rest_exact(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(totals, "FOLD_ROWS", 10**9)
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    with unit_of_work(factory) as session:
        before = _delta_count(session)
        assert totals.fold(session, limit=3) == 3
    with unit_of_work(factory) as session:
        assert _delta_count(session) == before - 3
        for summary in totals.SUMMARIES:
            assert _read(session, summary) == _recount(session, summary), summary.name


def test_a_transaction_appending_more_than_a_fold_batch_leaves_no_delta_behind(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bench's seed (a hundred placed deals per transaction, 20 commits) left 14,641
    deltas unfolded when writers folded once in 32 commits: the funnel of now took 58 ms."""
    monkeypatch.setattr(totals, "FOLD_BATCH", 25)
    monkeypatch.setattr(totals, "_owed", totals._Owed())
    totals._owed.rows = 0
    create_user(factory, "alice")
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        for number in range(80):
            data = OpportunityCreate(name=f"Deal {number}", estimated_value=Decimal(number))
            sales_service.create_opportunity(session, actor=actor, data=data)
            session.flush()  # a flush each, as requests make: one delta row per summary each
    with unit_of_work(factory) as session:
        assert _delta_count(session) == 0
        for summary in totals.SUMMARIES:
            assert _folded_only(session, summary) == _recount(session, summary), summary.name


def test_a_long_lived_process_folds_once_per_fold_rows_deltas() -> None:
    owed = totals._Owed()
    owed.rows = 0
    folds = [owed.add(4) for _ in range(320)]  # 1,280 rows: four per stage move
    assert [rows for rows in folds if rows] == [totals.FOLD_ROWS] * (1_280 // totals.FOLD_ROWS)
    owed.rows = 0
    # What a commit appends beyond the threshold is folded with the rest, not dropped.
    assert [owed.add(100), owed.add(100), owed.add(0)] == [0, 200, 0]


@pytest.fixture
def owed_nothing(monkeypatch: pytest.MonkeyPatch) -> totals._Owed:
    """This process's count of deltas owed, from zero, for this test only."""
    owed = totals._Owed()
    owed.rows = 0
    monkeypatch.setattr(totals, "_owed", owed)
    return owed


def test_a_savepoint_released_folds_nothing_and_its_deltas_stay_owed(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, owed_nothing: totals._Owed
) -> None:
    """An import row by row releases a savepoint per row: a fold there would hold the totals'
    locks until the batch commits."""
    monkeypatch.setattr(totals, "FOLD_ROWS", 4)
    create_user(factory, "alice")
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        for number in range(3):
            with session.begin_nested():
                data = OpportunityCreate(name=f"Row {number}", estimated_value=Decimal(number))
                sales_service.create_opportunity(session, actor=actor, data=data)
        assert _delta_count(session) == 6  # two rows per creation, none folded yet
        assert owed_nothing.rows == 0
    with unit_of_work(factory) as session:
        assert _delta_count(session) == 0  # the commit folded all six
        assert _folded_only(session, totals.PIPELINE) == _recount(session, totals.PIPELINE)
    assert owed_nothing.rows == 0


def test_a_rolled_back_transaction_owes_nothing_and_a_failed_fold_is_owed_again(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, owed_nothing: totals._Owed
) -> None:
    monkeypatch.setattr(totals, "FOLD_ROWS", 10**9)
    create_user(factory, "alice")
    with pytest.raises(RuntimeError, match="after the flush"):
        _create_then_fail(factory, _actor(factory, "alice"))
    with unit_of_work(factory) as session:
        data = OpportunityCreate(name="Kept", estimated_value=Decimal(5))
        sales_service.create_opportunity(session, actor=_actor(factory, "alice"), data=data)
    assert owed_nothing.rows == 2  # the kept creation's two rows, not the rolled back ones
    monkeypatch.setattr(totals, "FOLD_ROWS", 1)

    def failing_fold(*_args: Any) -> int:
        raise RuntimeError("the fold failed")

    monkeypatch.setattr(totals, "fold", failing_fold)
    with pytest.raises(RuntimeError, match="the fold failed"):
        _create(factory, "Lost")
    assert owed_nothing.rows == 4  # still owed: the next commit that appends folds them


def _create(factory: sessionmaker[Session], name: str) -> None:
    with unit_of_work(factory) as session:
        data = OpportunityCreate(name=name, estimated_value=Decimal(6))
        sales_service.create_opportunity(session, actor=_actor(factory, "alice"), data=data)


def _actor(factory: sessionmaker[Session], username: str) -> Any:
    with unit_of_work(factory) as session:
        return actor_by_username(session, username)


def test_short_lived_processes_fold_their_share_of_the_deltas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CLI command commits once: with a count starting at nothing, it would never fold."""
    monkeypatch.setattr(totals, "random", random.Random(7))
    processes = 10_000
    folds = sum(1 for _ in range(processes) if totals._Owed().add(4))
    expected = processes * 4 / totals.FOLD_ROWS  # 312.5
    assert 0.8 * expected < folds < 1.2 * expected


def test_a_rolled_back_change_appends_no_delta(factory: sessionmaker[Session]) -> None:
    create_user(factory, "alice")
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        sales_service.create_opportunity(
            session, actor=actor, data=OpportunityCreate(name="Kept", estimated_value=Decimal(5))
        )
    with unit_of_work(factory) as session:
        before = _delta_count(session)
    with pytest.raises(RuntimeError, match="after the flush"):
        _create_then_fail(factory, actor)
    with unit_of_work(factory) as session:
        assert _delta_count(session) == before
        assert _read(session, totals.PIPELINE) == _recount(session, totals.PIPELINE)


def _create_then_fail(factory: sessionmaker[Session], actor: Any) -> None:
    with unit_of_work(factory) as session:
        data = OpportunityCreate(name="Gone", estimated_value=Decimal(7))
        sales_service.create_opportunity(session, actor=actor, data=data)
        session.flush()
        raise RuntimeError("the request failed after the flush")


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_writers_of_the_same_total_do_not_wait_for_each_other(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    """Both opportunities sit in the same owner's Qualify bucket: with totals updated in
    place, the second writer would wait for the first's row lock until it commits."""
    create_user(factory, "alice")
    ids: list[uuid.UUID] = []
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        for name in ("First", "Second"):
            data = OpportunityCreate(name=name, estimated_value=Decimal(10))
            ids.append(sales_service.create_opportunity(session, actor=actor, data=data).id)
    first, second = factory(), factory()
    try:
        _change_value(first, actor, ids[0], 20)
        second.execute(text("SET LOCAL lock_timeout = '1s'"))
        _change_value(second, actor, ids[1], 30)  # raises if it waits on the first
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    with unit_of_work(factory) as session:
        assert _read(session, totals.PIPELINE) == _recount(session, totals.PIPELINE)
        (bucket,) = _read(session, totals.PIPELINE).values()
        assert bucket[:2] == (2, Decimal(50))


def _change_value(session: Session, actor: Any, opportunity_id: uuid.UUID, value: int) -> None:
    sales_service.update_opportunity(
        session,
        actor=actor,
        opportunity_id=opportunity_id,
        data=OpportunityUpdate(estimated_value=Decimal(value)),
    )
    session.flush()
