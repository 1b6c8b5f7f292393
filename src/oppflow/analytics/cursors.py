"""Rows of a report's statement read on PostgreSQL through a server-side cursor of its own,
straight from the driver: memory stays bounded, and no SQLAlchemy row is built for each of
hundreds of thousands of rows (a sixth of conversion as of an instant at 1M).

SQLAlchemy's own streaming (``yield_per``) buffers the cursor's first row to learn its
columns, so its cursor cannot be read beside it; here SQLAlchemy runs the ``DECLARE`` (the
statement compiled and its parameters bound as for any other), and the driver fetches.
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

    inherit_cache = False  # a name of its own each time: nothing to cache

    def __init__(self, name: str, query: Select[Any]) -> None:
        self.name, self.query = name, query


@compiles(_Declare, "postgresql")
def _declare(element: _Declare, compiler: SQLCompiler, **kw: Any) -> str:
    query = compiler.process(element.query, **kw)
    return f"DECLARE {element.name} NO SCROLL CURSOR FOR {query}"


def batches(connection: Connection, query: Select[Any], size: int) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` as the driver gives them, ``size`` at a time, inside the
    connection's transaction (a cursor lives until it ends: closed here once read)."""
    name = f"oppflow_rows_{next(_NAMES)}"
    connection.execute(_Declare(name, query))
    driver = connection.connection.dbapi_connection
    assert driver is not None  # a connection in use is checked out
    cursor = driver.cursor()
    try:
        while batch := cursor.execute(f"FETCH FORWARD {size} FROM {name}").fetchall():
            yield batch
        cursor.execute(f"CLOSE {name}")
    finally:
        cursor.close()
