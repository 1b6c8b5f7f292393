"""On SQLite, the readable ids that a report's statements test summary rows against, written
once per transaction into a temporary table (decision 0043).

SQLite answers ``x IN (SELECT id FROM …)`` by building a temporary index of the ids for that
statement. A report that reads two summaries, or one in two statements (the forecast as of an
instant reads the spans open then and those won), built the same list twice: a salesperson's
unit holds 250,000 records at 1M, and the list alone takes 0.15 s. Kept in a temporary table
keyed by its ids, the list is built once, and each statement seeks it by key.

The table lives in SQLite's temporary schema of the session's connection, which belongs to
that connection alone and is written without the database's write lock (a GET's read-only
transaction may fill it). The ids are read as they are when the table is filled: a flush in
the session forgets the tables, so the next report reads the ids again; so does a rollback
(which undoes what it created: the connection runs its own ``BEGIN``, ``db.py``). Before the
outermost transaction commits, every such table of the connection is dropped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, TableClause, column, event, insert, select, table
from sqlalchemy.orm import Session

_PREFIX = "oppflow_kept_ids_"
_TABLES = "oppflow_kept_ids"  # session.info: the filled tables, by their ids' statement
_USED = "oppflow_kept_ids_used"  # session.info: the connection may hold such tables


def kept(session: Session, ids: Select[Any]) -> Select[Any]:
    """The ids of ``ids`` as a select of a temporary table, filled at the first call with the
    same statement and parameters since the transaction began or the session last flushed."""
    if session.autoflush:
        session.flush()  # the ids as the session's pending changes leave them
    compiled = ids.compile(session.get_bind())
    key = (str(compiled), repr(sorted(compiled.params.items())))
    tables: dict[tuple[str, str], TableClause] = session.info.setdefault(_TABLES, {})
    found = tables.get(key)
    if found is None:
        found = tables[key] = _filled(session, ids, f"{_PREFIX}{len(tables)}")
    return select(found.c.id)


def _filled(session: Session, ids: Select[Any], name: str) -> TableClause:
    # A lightweight table: nothing shared between threads, nothing kept in a MetaData.
    found = table(name, column("id"), schema="temp")
    session.info[_USED] = True
    connection = session.connection()
    # One left by an earlier fill of this transaction (forgotten since) is emptied.
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} (id CHAR(32) PRIMARY KEY) WITHOUT ROWID"
    )
    connection.execute(found.delete())
    # A record reached two ways (owned, and in the unit) comes twice. In the key's order, the
    # ids are appended to the table's B-tree, not inserted all over it: a unit's 250,000 ids
    # at 1M, 0.23 s against 0.27-0.31 s, the sort included.
    ordered = ids.order_by(*ids.selected_columns)
    connection.execute(insert(found).prefix_with("OR IGNORE").from_select(["id"], ordered))
    return found


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_TABLES, None)


def _drop_before_commit(session: Session) -> None:
    # A savepoint's release also calls this: the outer transaction goes on with its tables.
    if not session.info.get(_USED) or session.in_nested_transaction():
        return
    session.info.pop(_USED)
    _forget(session)
    connection = session.connection()
    names = connection.exec_driver_sql(
        f"SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE '{_PREFIX}%'"
    )
    for (name,) in names.all():
        connection.exec_driver_sql(f"DROP TABLE temp.{name}")


def install() -> None:
    """Hook the tables' lifetime into every session (idempotent)."""
    if not event.contains(Session, "before_commit", _drop_before_commit):
        event.listen(Session, "before_commit", _drop_before_commit)
        event.listen(Session, "after_flush", _forget)
        event.listen(Session, "after_soft_rollback", _forget)
