"""Rules every editable record shares: versions checked against If-Match, stamped changes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from oppflow.errors import NotFound, PreconditionFailed, ValidationFailed
from oppflow.models import User
from oppflow.models.base import Audited
from oppflow.security.actor import Actor
from oppflow.security.repository import UserRepository
from oppflow.security.scope import require_create


def check_version(record: Audited, expected: int | None) -> None:
    """Refuse with 412 when the caller's If-Match names a version that is no longer current."""
    if expected is not None and record.version != expected:
        raise PreconditionFailed(
            f"The record changed since you read it (version {record.version}, not {expected}).",
            current_version=record.version,
        )


def apply_changes(record: Audited, changes: dict[str, Any], actor: Actor) -> None:
    for field, value in changes.items():
        setattr(record, field, value)
    record.modified_by_id = actor.user_id


def stamp_new(record: Audited, actor: Actor) -> None:
    record.created_by_id = actor.user_id
    record.modified_by_id = actor.user_id


def active_user(session: Session, user_id: uuid.UUID, field: str = "owner_id") -> User:
    """An existing, active user named in a request (422 naming ``field`` otherwise)."""
    try:
        user = UserRepository(session).get(user_id)
    except NotFound as error:
        raise ValidationFailed(f"{field}: {error.detail}", field=field) from error
    if not user.is_active:
        raise ValidationFailed(f"{field}: that user is disabled.", field=field)
    return user


def owned_values(
    session: Session, actor: Actor, table: str, values: dict[str, Any]
) -> dict[str, Any]:
    """A new record's values with its owner (the actor by default) and owning business unit,
    refused when the actor's create depth does not reach that owner."""
    owner_id = values.get("owner_id") or actor.user_id
    if owner_id == actor.user_id:
        # The actor was resolved from an active user, and from their current business unit
        # (the security epoch sees to that): no need to read the user again.
        unit_id = actor.business_unit_id
    else:
        unit_id = active_user(session, owner_id).business_unit_id
    require_create(actor, table, owner_id, unit_id)
    return {**values, "owner_id": owner_id, "owning_business_unit_id": unit_id}
