"""Rows of a report's statement read on PostgreSQL through a server-side cursor of its own,
straight from the driver: memory stays bounded, and no SQLAlchemy row is built for each of
hundreds of thousands of rows (a sixth of conversion as of an instant at 1M).

SQLAlchemy's own streaming (``yield_per``) buffers the cursor's first row to learn its
columns, so its cursor cannot be read beside it. Here SQLAlchemy runs the ``DECLARE`` (the
statement compiled and its parameters bound as for any other) and each ``FETCH``, and the
rows are read from the driver's cursor.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable, Select

_NAMES = itertools.count()


class _Declare(Executable, ClauseElement):
    """``DECLARE name NO SCROLL CURSOR FOR query``."""

    # A name of its own each time: nothing to cache (the report's statement is compiled anew
    # at each call, a millisecond or so against the hundreds its rows take).
    inherit_cache = False

    def __init__(self, name: str, query: Select[Any]) -> None:
        self.name, self.query = name, query


@compiles(_Declare, "postgresql")
def _declare(element: _Declare, compiler: SQLCompiler, **kw: Any) -> str:
    query = compiler.process(element.query, **kw)
    return f"DECLARE {element.name} NO SCROLL CURSOR FOR {query}"


def batches(connection: Connection, query: Select[Any], size: int) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` as the driver gives them, ``size`` at a time. The cursor lives
    in the connection's transaction (``DECLARE`` needs one: not on an autocommit
    connection); it is closed once read, or when the caller stops reading. Each ``FETCH``
    goes through SQLAlchemy, so that its errors are SQLAlchemy's (a busy database, a
    connection lost), but its rows are read from the driver's cursor, with no row built."""
    name = f"oppflow_rows_{next(_NAMES)}"
    connection.execute(_Declare(name, query))
    fetch = f"FETCH FORWARD {int(size)} FROM {name}"
    try:
        while batch := _driver_rows(connection, fetch):
            yield batch
    except GeneratorExit:  # the caller stopped early: the transaction goes on
        connection.exec_driver_sql(f"CLOSE {name}")
        raise
    connection.exec_driver_sql(f"CLOSE {name}")


def _driver_rows(connection: Connection, statement: str) -> Sequence[Any]:
    result = connection.exec_driver_sql(statement)
    try:
        rows: Sequence[Any] = result.cursor.fetchall()
    finally:
        result.close()
    return rows
