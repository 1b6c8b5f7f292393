"""The OData face's operations, over the domain services: reads through the scoped
repository, writes and actions through the same service functions as ``/api/v1``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from oppflow.dataverse.entities import ENTITY_SETS, EntitySet
from oppflow.dataverse.errors import BadQuery
from oppflow.dataverse.query import read_query
from oppflow.dataverse.repository import EntitySetRepository
from oppflow.dataverse.values import body_values, record_json
from oppflow.errors import PermissionDenied, ValidationFailed
from oppflow.security.actor import Actor


@dataclass(frozen=True)
class Collection:
    records: list[dict[str, Any]]
    count: int | None
    next_skip: int | None
    selected: list[str] | None


def list_records(
    session: Session,
    *,
    actor: Actor,
    entity: EntitySet,
    options: Mapping[str, str],
    page_size: int,
) -> Collection:
    """One page of the readable records that match the query, and where the next one starts."""
    query = read_query(entity, options)
    size = page_size if query.top is None else max(0, min(page_size, query.top - query.skip))
    repository = EntitySetRepository(session, actor, entity)
    rows = repository.page(query, size + 1) if size else []
    # A next page only while $top is not reached: $top=3 is one page of three, no link.
    more = len(rows) > size and (query.top is None or query.skip + size < query.top)
    records = [record_json(entity, row, query.selected) for row in rows[:size]]
    _expand(repository, records, rows[:size], query.expand)
    return Collection(
        records=records,
        count=repository.count(query) if query.count else None,
        next_skip=query.skip + size if more else None,
        selected=[c.name for c in query.selected] if query.selected else None,
    )


def _expand(
    repository: EntitySetRepository, records: list[dict[str, Any]], rows: list[Any], lookups: Any
) -> None:
    """One level of ``$expand``: each lookup's readable record inline (null when unreadable)."""
    for lookup in lookups:
        target = ENTITY_SETS[lookup.target]
        keys = {getattr(row, lookup.attribute) for row in rows} - {None}
        found = repository.related(target, keys)
        for record, row in zip(records, rows, strict=True):
            related = found.get(getattr(row, lookup.attribute))
            record[lookup.navigation] = record_json(target, related, None) if related else None


def get_record(
    session: Session,
    *,
    actor: Actor,
    entity: EntitySet,
    key: uuid.UUID,
    options: Mapping[str, str],
) -> tuple[dict[str, Any], int | None]:
    """One readable record as JSON, and its version."""
    query = read_query(entity, options)
    repository = EntitySetRepository(session, actor, entity)
    record = repository.get(key)
    body = record_json(entity, record, query.selected)
    _expand(repository, [body], [record], query.expand)
    return body, getattr(record, "version", None)


def create_record(session: Session, *, actor: Actor, entity: EntitySet, body: Any) -> Any:
    """Create through the domain service of the entity set."""
    if entity.create is None:
        raise PermissionDenied(f"{entity.name} cannot be created through this API.")
    values = body_values(entity, body, creating=True)
    with _as_bad_request(entity):
        return entity.create(session, actor, values)


def update_record(
    session: Session,
    *,
    actor: Actor,
    entity: EntitySet,
    key: uuid.UUID,
    body: Any,
    version: int | None,
) -> Any:
    """Change through the domain service (its version check, gates and closed-record rules)."""
    if entity.update is None:
        raise PermissionDenied(f"{entity.name} cannot be changed through this API.")
    values = body_values(entity, body, creating=False)
    EntitySetRepository(session, actor, entity).get(key)
    with _as_bad_request(entity):
        return entity.update(session, actor, key, values, version)


def delete_record(
    session: Session, *, actor: Actor, entity: EntitySet, key: uuid.UUID, version: int | None
) -> None:
    if entity.delete is None:
        raise PermissionDenied(f"{entity.name} cannot be deleted through this API.")
    entity.delete(session, actor, key, version)


class _as_bad_request:  # noqa: N801 - used as a context manager, read as a phrase
    """A body the domain schema refuses is a 400 naming the first field by its logical name."""

    def __init__(self, entity: EntitySet) -> None:
        self.names = {column.attribute: column.name for column in entity.columns}

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if isinstance(error, ValidationError):
            first = error.errors()[0]
            where = ".".join(self.names.get(str(part), str(part)) for part in first["loc"])
            raise BadQuery(f"{where}: {first.get('msg', 'invalid value')}") from None
        if isinstance(error, ValidationFailed):
            field = str(error.extra.get("field", ""))
            detail = error.detail.replace(f"{field}:", f"{self.names.get(field, field)}:", 1)
            raise BadQuery(detail, **error.extra) from None
