"""A ``$filter`` tree as a SQLAlchemy expression over the entity set's allow-listed columns.

Every comparison is made two-valued (a null column compares as OData says: ``null ne 'x'`` is
true, ``null gt 1`` false), so that ``not`` negates exactly, as it would in Python.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from oppflow.dataverse.entities import Column, EntitySet
from oppflow.dataverse.errors import BadQuery
from oppflow.dataverse.filter import Call, Comparison, Junction, Literal, Node, Not

_OPERATORS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def column_of(entity: EntitySet, name: str) -> Column:
    """The allow-listed column ``name`` of ``entity``, or a 400 naming it."""
    column = entity.by_name.get(name)
    if column is None:
        raise BadQuery(f"Could not find a property named '{name}' on type '{entity.type_name}'.")
    return column


def stored_column_of(entity: EntitySet, name: str) -> Column:
    """An allow-listed column that lives in the table, for ``$filter`` and ``$orderby``."""
    column = column_of(entity, name)
    if column.derive is not None:
        raise BadQuery(f"'{name}' cannot be filtered or sorted on.")
    return column


def condition(entity: EntitySet, node: Node) -> ColumnElement[bool]:
    """The SQL condition of a parsed ``$filter``."""
    if isinstance(node, Junction):
        left, right = condition(entity, node.left), condition(entity, node.right)
        return and_(left, right) if node.operator == "and" else or_(left, right)
    if isinstance(node, Not):
        return not_(condition(entity, node.operand))
    if isinstance(node, Call):
        return _call(entity, node)
    return _comparison(entity, node)


def _call(entity: EntitySet, node: Call) -> ColumnElement[bool]:
    column = stored_column_of(entity, node.property)
    if column.kind != "text":
        raise BadQuery(f"{node.function} applies to text columns, not to '{column.name}'.")
    attribute = getattr(entity.model, column.attribute)
    escaped = node.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = {
        "contains": f"%{escaped}%",
        "startswith": f"{escaped}%",
        "endswith": f"%{escaped}",
    }[node.function]
    found: ColumnElement[bool] = attribute.ilike(pattern, escape="\\")
    return and_(attribute.is_not(None), found)


def _comparison(entity: EntitySet, node: Comparison) -> ColumnElement[bool]:
    column = stored_column_of(entity, node.property)
    attribute = getattr(entity.model, column.attribute)
    if node.value is None:
        if node.operator not in ("eq", "ne"):
            raise BadQuery(f"null can only be compared with eq or ne ('{column.name}').")
        nullness: ColumnElement[bool] = (
            attribute.is_(None) if node.operator == "eq" else attribute.is_not(None)
        )
        return nullness
    if column.option_set is not None:
        return _picklist(column, attribute, node)
    value = coerce(column, node.value)
    compared: ColumnElement[bool] = _OPERATORS[node.operator](attribute, value)
    if node.operator == "ne":
        return or_(attribute.is_(None), compared)
    return and_(attribute.is_not(None), compared)


def _picklist(column: Column, attribute: Any, node: Comparison) -> ColumnElement[bool]:
    """Option sets are stored as codes: the comparison picks the codes whose values match."""
    assert column.option_set is not None
    wanted = coerce(column, node.value)
    codes = [
        option.code
        for option in column.option_set.options
        if _OPERATORS[node.operator](option.value, wanted)
    ]
    if node.operator == "ne":
        return or_(attribute.is_(None), attribute.in_(codes)) if codes else true()
    return and_(attribute.is_not(None), attribute.in_(codes)) if codes else false()


def coerce(column: Column, value: Literal) -> Any:
    """A ``$filter`` literal as a value of the column's type, or a 400."""
    kind = column.kind
    if kind == "text" and isinstance(value, str):
        return value
    if kind in ("money",) and isinstance(value, Decimal):
        return value
    if kind in ("integer", "picklist") and isinstance(value, Decimal) and value == int(value):
        return int(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in ("guid", "lookup"):
        return _guid(column, value)
    if kind == "date" and isinstance(value, date) and not isinstance(value, datetime):
        return value
    if kind == "datetime" and isinstance(value, datetime):
        return value.replace(tzinfo=None) - (value.utcoffset() or _ZERO)
    if kind == "datetime" and isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise BadQuery(f"'{column.name}' cannot be compared with {value!r}.")


_ZERO = datetime(2000, 1, 1) - datetime(2000, 1, 1)


def _guid(column: Column, value: Literal) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise BadQuery(f"'{column.name}' is compared with a GUID, not {value!r}.")
