"""Exports of a table as its caller may read it, streamed in keyset pages (decision 0021).

``plan`` checks the request before any row is read (an unknown table or field is a 422, a
table the caller's roles do not read a 403); ``stream`` then yields the file a page at a time,
each page read in a unit of work of its own, so that neither the rows nor a transaction are
held for the length of the download.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from oppflow.exports import filters
from oppflow.exports.encoding import csv_text, jsonl_text, values_of
from oppflow.exports.repository import ExportRepository
from oppflow.exports.tables import TABLES, ExportColumn, ExportTable
from oppflow.security.actor import Actor

PAGE_SIZE = 500
MAX_FILTERS = 20
Format = Literal["csv", "jsonl"]
MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
OpenUnit = Callable[[], AbstractContextManager[Session]]
RowsHeard = Callable[[int], None]


class ExportRequest(BaseModel):
    table: str
    format: Format = "csv"
    dataverse_names: bool = False
    filters: list[str] = Field(default=[], max_length=MAX_FILTERS)
    state: str | None = None
    owner_id: uuid.UUID | None = None
    modified_since: datetime | None = None


@dataclass(frozen=True)
class Plan:
    """A checked request: which rows, which columns, in which format, for whom."""

    table: ExportTable
    actor: Actor
    columns: tuple[ExportColumn, ...]
    conditions: tuple[ColumnElement[bool], ...]
    format: Format

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def filename(self) -> str:
        return f"{self.table.name}.{self.format}"


def plan(actor: Actor, request: ExportRequest) -> Plan:
    table = TABLES.get(request.table)
    if table is None:
        known = ", ".join(TABLES)
        raise filters.refused("table", f"No table {request.table[:60]!r} to export: {known}.")
    actor.require(table.privilege, "read")
    return Plan(table, actor, _columns(table, request), _conditions(table, request), request.format)


def _columns(table: ExportTable, request: ExportRequest) -> tuple[ExportColumn, ...]:
    if not request.dataverse_names:
        return table.columns
    if table.dataverse is None:
        message = f"{table.name} have no Dataverse names; export them under the API's."
        raise filters.refused("names", message)
    return table.dataverse_columns()


def _conditions(table: ExportTable, request: ExportRequest) -> tuple[ColumnElement[bool], ...]:
    conditions = [filters.equality(table, expression) for expression in request.filters]
    if request.state is not None:
        conditions.append(filters.on_column(table, "state", request.state, "state"))
    if request.owner_id is not None:
        owner = str(request.owner_id)
        conditions.append(filters.on_column(table, "owner_id", owner, "owner_id"))
    if request.modified_since is not None:
        conditions.append(filters.since(table, request.modified_since))
    return tuple(conditions)


def stream(
    plan: Plan,
    open_unit: OpenUnit,
    *,
    page_size: int = PAGE_SIZE,
    on_rows: RowsHeard | None = None,
) -> Iterator[str]:
    """The file's text: the CSV header, then one chunk per page of rows. Each page is read in
    a unit of work of its own, closed before its chunk is handed on, and starts after the last
    key of the one before (rows created behind that key meanwhile are not in the file).
    ``on_rows`` hears how many rows each page wrote."""
    names = [column.name for column in plan.columns]
    if plan.format == "csv":
        yield csv_text([names])
    after: Any = None
    while True:
        with open_unit() as session:
            records, rows = _page(session, plan, after, page_size)
        if rows:
            after = getattr(records[-1], plan.table.key.key)
            if on_rows is not None:
                on_rows(len(rows))
            yield csv_text(rows) if plan.format == "csv" else jsonl_text(names, rows)
        if len(records) < page_size:
            return


def _page(session: Session, plan: Plan, after: Any, size: int) -> tuple[list[Any], list[Any]]:
    """The page's records and their rows of values (user names in one query per page)."""
    repository = ExportRepository(session, plan.actor, plan.table)
    records = repository.page(plan.conditions, after=after, size=size)
    named = [column.attribute for column in plan.columns if column.user_name]
    ids = {getattr(record, name) for record in records for name in named}
    users = repository.user_names(ids) if ids else {}
    return records, [values_of(plan.columns, record, users) for record in records]


def count(session: Session, plan: Plan) -> int:
    """How many rows the export will write (for a progress bar)."""
    return ExportRepository(session, plan.actor, plan.table).count(plan.conditions)
