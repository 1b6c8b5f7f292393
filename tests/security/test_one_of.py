"""``scope.one_of``: the actor's own lists (units, teams) as one bound parameter per value
select the same rows as SQLAlchemy's ``in_`` and ``not_in``, NULLs and empty lists included."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    Table,
    Uuid,
    create_engine,
    func,
    select,
)

from oppflow.security.scope import one_of

A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))
units = Table("units_of_rows", MetaData(), Column("unit", Uuid, nullable=True))


@pytest.mark.parametrize("values", [[], [A], [A, B], [C, B, A], [C]])
def test_one_of_selects_what_in_and_not_in_select(values: list[uuid.UUID]) -> None:
    engine = create_engine("sqlite://")
    units.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(units.insert(), [{"unit": A}, {"unit": B}, {"unit": None}])

        def count(condition: ColumnElement[bool]) -> int:
            return connection.scalar(select(func.count()).select_from(units).where(condition)) or 0

        assert count(one_of(units.c.unit, values)) == count(units.c.unit.in_(values))
        assert count(~one_of(units.c.unit, values)) == count(units.c.unit.not_in(values))
    engine.dispose()
