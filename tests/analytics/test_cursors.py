"""Rows read through a server-side cursor of their own (``analytics/cursors.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, Select, column, literal, select, text, values
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import Integer, String

from oppflow.analytics import cursors

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres(postgres_engine: Engine) -> Engine:
    return postgres_engine


def _numbers(count: int) -> Select[Any]:
    return select(text("n"), text("'row ' || n")).select_from(
        text(f"generate_series(1, {count}) AS n")
    )


def test_every_row_comes_in_batches_as_the_driver_gives_them(postgres: Engine) -> None:
    with postgres.begin() as connection:
        batches = list(cursors.batches(connection, _numbers(5), 2))
        assert [len(batch) for batch in batches] == [2, 2, 1]
        assert [tuple(row) for batch in batches for row in batch][-1] == (5, "row 5")
        # Closed once read: nothing of it is left in the transaction.
        left = connection.execute(text("SELECT count(*) FROM pg_cursors")).scalar_one()
        assert left == 0


def test_an_empty_result_gives_no_batch(postgres: Engine) -> None:
    with postgres.begin() as connection:
        assert list(cursors.batches(connection, _numbers(0), 10)) == []


def test_a_caller_stopping_early_closes_it_and_the_transaction_goes_on(
    postgres: Engine,
) -> None:
    with postgres.begin() as connection:
        reading = cursors.batches(connection, _numbers(10), 3)
        assert len(next(reading)) == 3
        reading.close()
        assert connection.execute(text("SELECT count(*) FROM pg_cursors")).scalar_one() == 0
        assert connection.execute(text("SELECT 1")).scalar_one() == 1


def test_two_cursors_read_side_by_side(postgres: Engine) -> None:
    with postgres.begin() as connection:
        first = cursors.batches(connection, _numbers(4), 2)
        second = cursors.batches(connection, _numbers(4), 2)
        read = [
            row[0] for pair in zip(first, second, strict=True) for batch in pair for row in batch
        ]
        assert read == [1, 2, 1, 2, 3, 4, 3, 4]


def test_the_statement_is_bound_as_any_other(postgres: Engine) -> None:
    words = values(column("word", String), column("rank", Integer), name="words").data(
        [("a", 1), ("b", 2), ("c", 3)]
    )
    query = select(words.c.word).where(words.c.rank >= literal(2)).order_by(words.c.rank)
    with postgres.begin() as connection:
        rows = [row for batch in cursors.batches(connection, query, 10) for row in batch]
    assert [tuple(row) for row in rows] == [("b",), ("c",)]


def test_a_failing_fetch_raises_sqlalchemy_s_error(postgres: Engine) -> None:
    """Its errors are SQLAlchemy's, which the application's handlers answer (a busy
    database, a lost connection), not the driver's."""
    failing = select(text("1 / (n - 3)")).select_from(text("generate_series(1, 5) AS n"))
    with (
        postgres.connect() as connection,
        connection.begin(),
        pytest.raises(DBAPIError, match="division by zero"),
    ):
        for _ in cursors.batches(connection, failing, 1):
            pass


def test_a_cursor_is_planned_for_its_whole_result(postgres: Engine) -> None:
    """Every cursor is read to its end: planned for its first tenth (PostgreSQL's default),
    the waterfall at 1M took a nested loop four times slower than its whole result's plan."""
    with postgres.begin() as connection:
        setting = connection.execute(text("SHOW cursor_tuple_fraction")).scalar_one()
        assert float(setting) == 1
