"""An export's filters as SQL conditions: ``field=value`` equality on any stored column of the
table (named as in the API), and the lists' usual state, owner and modified-since.

A value is read as the column's type (an id, a number, a date, true/false…); one that cannot
be, or a field the table lacks, is refused before any row is read (422), never left to the
database, where it could fail half-way through a stream.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, inspect

from oppflow.errors import ValidationFailed
from oppflow.exports.tables import ExportTable

# The types a filter value can be read as; JSON columns (lists) cannot be compared.
PARSEABLE = (str, int, bool, Decimal, date, datetime, uuid.UUID)
# As large as an INTEGER of PostgreSQL, which refuses a larger parameter for one.
LARGEST_INTEGER = 2**31 - 1


def refused(where: str, message: str) -> ValidationFailed:
    error = {"loc": ["query", where], "msg": message, "type": "value_error"}
    return ValidationFailed(message, errors=[error])


def equality(table: ExportTable, expression: str) -> ColumnElement[bool]:
    """``field=value`` as ``column = value``."""
    field, found, text = expression.partition("=")
    if not found:
        raise refused("filter", f"A filter is field=value, not {expression[:60]!r}.")
    column = table.by_name.get(field.strip())
    stored = inspect(table.model).columns.get(column.attribute) if column else None
    if stored is None:
        raise refused("filter", f"{table.name} has no field {field.strip()[:60]!r} to filter on.")
    condition: ColumnElement[bool] = stored == _value(stored, text, field.strip())
    return condition


def on_column(table: ExportTable, attribute: str, text: str, where: str) -> ColumnElement[bool]:
    """``state=…`` or ``owner_id=…``, on the tables that have such a column."""
    stored = inspect(table.model).columns.get(attribute)
    if stored is None:
        raise refused(where, f"{table.name} have no {attribute}.")
    condition: ColumnElement[bool] = stored == _value(stored, text, where)
    return condition


def since(table: ExportTable, moment: datetime) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = table.since >= in_utc(moment, "modified_since")
    return condition


def in_utc(moment: datetime, where: str) -> datetime:
    """A moment in UTC; one without a zone is taken as UTC already."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise refused(where, "The moment is out of range.") from None


def _value(column: Any, text: str, field: str) -> Any:
    """``text`` as a value of ``column``'s type."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = None
    if kind not in PARSEABLE or "\x00" in text:
        raise refused("filter", f"{field!r} cannot be filtered on with {text[:60]!r}.")
    try:
        value = TypeAdapter(kind).validate_python(text)
    except ValidationError:
        raise refused("filter", f"{text[:60]!r} is not a {kind.__name__} for {field!r}.") from None
    return _checked(value, field)


def _checked(value: Any, field: str) -> Any:
    if isinstance(value, datetime):
        return in_utc(value, "filter")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST_INTEGER:
        raise refused("filter", f"{value} is too large for {field!r}.")
    if isinstance(value, Decimal) and not value.is_finite():
        raise refused("filter", f"{field!r} takes a finite number.")
    return value
