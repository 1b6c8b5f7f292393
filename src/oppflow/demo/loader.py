"""Rows into tables at bulk speed, around the ORM: ``COPY … FROM STDIN`` on PostgreSQL
(psycopg 3), one ``INSERT`` executemany per batch on SQLite whose values each column's own
type converts (the conversion a Core ``insert()`` applies, without its per-row machinery,
which cost more than SQLite's own work).

No ORM object is made per row, so neither the change-log nor the totals hooks see these
rows: whoever loads opportunities this way writes their change log itself; loads the stage
stints, phase moves and spans that ``stage_stints``, ``phase_moves`` and ``spans``
``.rows_of_changes`` make of it and stamps the records with ``stage_entries.stamped``; calls
:func:`oppflow.analytics.closed_deals.refresh` for those its change log closes or reopens, and
:func:`oppflow.analytics.totals.rebuild` when done (as ``demo/bulk.py`` and
``imports/bulk.py`` do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, Table, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

Row = dict[str, Any]


def load(session: Session, table: Table, rows: Sequence[Row]) -> None:
    """Append ``rows`` (dicts keyed by column name; every column but an autoincrement
    key) to ``table`` in the session's transaction."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, table, rows)
    else:
        _insert(session, table, rows)


def _insert(session: Session, table: Table, rows: Sequence[Row]) -> None:
    connection = session.connection()
    columns = list(rows[0])
    # Column by column: one comprehension per column costs less than a loop over each row's
    # converted columns (a third of a bulk import's conversion time, 2026-12-08).
    values = [
        _converted(rows, name, _converter(table, name, connection.dialect)) for name in columns
    ]
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    connection.exec_driver_sql(statement, list(zip(*values, strict=True)))


def _converted(rows: Sequence[Row], name: str, convert: Callable[[Any], Any] | None) -> list[Any]:
    """Column ``name`` of every row, each value through ``convert`` (None stays None)."""
    if convert is None:
        return [row[name] for row in rows]
    return [None if (value := row[name]) is None else convert(value) for row in rows]


def _converter(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's own bind conversion on this dialect (None: the value goes as is),
    remembered per value: the rows of one story share their ids and instants."""
    kind = table.c[name].type
    convert: Callable[[Any], Any] | None = kind.dialect_impl(dialect).bind_processor(dialect)
    if convert is None or isinstance(kind, JSON | Uuid):  # UUIDs hash slower than they convert
        return convert
    return lru_cache(maxsize=4096)(convert)


def _copy(session: Session, table: Table, rows: Sequence[Row]) -> None:
    columns = list(rows[0])
    as_json = {name for name in columns if isinstance(table.c[name].type, JSON)}
    names = ", ".join(f'"{name}"' for name in columns)
    driver: Any = session.connection().connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row([Json(row[name]) if name in as_json else row[name] for name in columns])
