"""Rows as CSV (every cell through ``SafeCsvWriter``) or JSON lines, one chunk per page."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from oppflow.exports.csvsafe import SafeCsvWriter
from oppflow.exports.tables import ExportColumn


def values_of(
    columns: Sequence[ExportColumn], record: Any, users: Mapping[uuid.UUID, str] | None = None
) -> list[Any]:
    """The record's values in column order; under Dataverse names an option set's code is its
    integer value, as the Dataverse face sends it; a user column's id is the user's name in
    ``users``."""
    found: list[Any] = []
    for column in columns:
        value = getattr(record, column.attribute)
        option_set = column.dataverse.option_set if column.dataverse else None
        if column.user_name:
            value = (users or {}).get(value)
        elif option_set and value is not None:
            value = option_set.value_of(value)
        found.append(value)
    return found


def _instant(value: datetime) -> str:
    # As the API writes them: UTC with a Z.
    return value.isoformat().replace("+00:00", "Z")


def cell(value: Any) -> Any:
    """A value as CSV text: money keeps its exact digits, lists are joined by spaces."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return value


def _json(value: Any) -> Any:
    """A value as the API's JSON has it (money as a number, as the read schemas send it)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not exported")


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return buffer.getvalue()


def jsonl_text(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """One JSON object a line; values as stored, since JSON lines go to programs, not to
    spreadsheets that would run a formula."""
    return "".join(
        json.dumps(dict(zip(names, row, strict=True)), default=_json, ensure_ascii=False) + "\n"
        for row in rows
    )
