"""Records as Dataverse JSON, and Dataverse JSON bodies as the values oppflow's schemas take."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from oppflow.dataverse.entities import ENTITY_SETS, Column, EntitySet
from oppflow.dataverse.errors import BadQuery
from oppflow.errors import NotFound

_BIND = re.compile(r"^(?:.*/)?(?P<set>\w+)\((?P<key>[0-9a-fA-F-]{36})\)$")


def etag(version: int) -> str:
    return f'W/"{version}"'


def json_value(column: Column, value: Any) -> Any:
    """One attribute as Dataverse sends it: option codes as integers, money as numbers."""
    if value is None:
        return None
    if column.option_set is not None:
        return column.option_set.value_of(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def record_json(entity: EntitySet, record: Any, selected: list[Column] | None) -> dict[str, Any]:
    """The record's attributes (the selected ones, or all), its key and its ``@odata.etag``."""
    body: dict[str, Any] = {}
    version = getattr(record, "version", None)
    if version is not None:
        body["@odata.etag"] = etag(version)
    for column in selected or entity.columns:
        value = column.derive(record) if column.derive else getattr(record, column.attribute)
        body[column.name] = json_value(column, value)
    body[entity.key] = str(record.id)
    return body


def body_values(entity: EntitySet, body: Any, *, creating: bool) -> dict[str, Any]:
    """A POST or PATCH body as oppflow's field names; unknown names, and read-only ones with a
    value, are a 400. A null on create is the column's default (generic OData clients send
    every property of a new entity)."""
    if not isinstance(body, dict):
        raise BadQuery("The body must be a JSON object.")
    values: dict[str, Any] = {}
    navigations = entity.navigations()
    for name, value in body.items():
        if name.startswith("@odata.") or (creating and value is None):
            continue
        if name.endswith("@odata.bind"):
            column = navigations.get(name.removesuffix("@odata.bind"))
            if column is None:
                raise BadQuery(f"'{name}' binds no navigation property of '{entity.type_name}'.")
            values[column.attribute] = bound_key(column, value)
            continue
        column = entity.by_name.get(name)
        if column is not None and not column.writable and value is None:
            continue
        if column is None or not column.writable:
            raise BadQuery(f"'{name}' is not a writable property of '{entity.type_name}'.")
        values[column.attribute] = _input(column, value)
    return values


def bound_key(column: Column, value: Any) -> str | None:
    """``/accounts(<id>)`` as the id, checked against the lookup's target set."""
    if value is None:
        return None
    found = _BIND.match(value) if isinstance(value, str) else None
    if found is None or found.group("set") != column.target:
        raise BadQuery(f"'{column.navigation}@odata.bind' must be '/{column.target}(<id>)'.")
    try:
        return str(uuid.UUID(found.group("key")))
    except ValueError:
        raise BadQuery(f"'{column.navigation}@odata.bind' names no valid id.") from None


def _input(column: Column, value: Any) -> Any:
    if column.option_set is not None and value is not None:
        code = column.option_set.code_of(value) if isinstance(value, int) else None
        if code is None:
            raise BadQuery(f"{value!r} is not a value of the option set of '{column.name}'.")
        return code
    return value


def resolve_entity(name: str) -> EntitySet:
    entity = ENTITY_SETS.get(name)
    if entity is None:
        raise NotFound(f"Resource not found for the segment '{name}'.")
    return entity
