"""On SQLite, the readable ids that a report's statements test summary rows against, written
once per transaction into a temporary table.

SQLite answers ``x IN (SELECT id FROM …)`` by building a temporary index of the ids for that
statement. A report that reads two summaries, or one in two statements (the forecast as of an
instant reads the spans open then and those won), built the same list twice: a salesperson's
unit holds 250,000 records at 1M, and the list alone takes 0.15 s. Kept in a temporary table
keyed by its ids, the list is built once, and each statement seeks it by key.

The table lives in SQLite's temporary schema of the session's connection, which belongs to
that connection alone and is written without the database's write lock (a GET's read-only
transaction may fill it). It is dropped before the transaction commits; a rollback undoes
its creation. A statement whose ids differ (another actor, other filters) gets a table of its
own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CHAR, Column, MetaData, Select, Table, event, insert, select
from sqlalchemy.orm import Session, SessionTransaction

_TEMPORARY = MetaData(schema="temp")
_INFO = "oppflow_kept_ids"


def kept(session: Session, ids: Select[Any]) -> Select[Any]:
    """The ids of ``ids`` as a select of a temporary table of this transaction, filled at
    the first call with the same statement and parameters."""
    compiled = ids.compile(session.get_bind())
    key = (str(compiled), repr(sorted(compiled.params.items())))
    session.connection()  # the transaction begun, that the tables belong to
    tables = _tables_of(session)
    table = tables.get(key)
    if table is None:
        table = tables[key] = _filled(session, ids, f"oppflow_kept_ids_{len(tables)}")
    return select(table.c.id)


def _tables_of(session: Session) -> dict[tuple[str, str], Table]:
    """The tables of the session's transaction now (a new transaction starts with none)."""
    transaction = session.get_transaction()
    held = session.info.get(_INFO)
    if held is None or held[0] is not transaction:
        held = session.info[_INFO] = (transaction, {})
        event.listen(session, "before_commit", _drop_kept, once=True)
    tables: dict[tuple[str, str], Table] = held[1]
    return tables


def _filled(session: Session, ids: Select[Any], name: str) -> Table:
    table = _TEMPORARY.tables.get(f"temp.{name}")
    if table is None:
        table = Table(name, _TEMPORARY, Column("id", CHAR(32), primary_key=True))
    connection = session.connection()
    # A table left on this connection (a transaction that ended otherwise) is emptied.
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} (id CHAR(32) PRIMARY KEY) WITHOUT ROWID"
    )
    connection.execute(table.delete())
    # A record reached two ways (owned, and in the unit) comes twice.
    connection.execute(insert(table).prefix_with("OR IGNORE").from_select(["id"], ids))
    return table


def _drop_kept(session: Session) -> None:
    held: tuple[SessionTransaction | None, dict[Any, Table]] | None = session.info.pop(_INFO, None)
    if held is None:
        return
    connection = session.connection()
    for table in held[1].values():
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table.name}")
