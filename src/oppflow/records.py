"""Rules every editable record shares: versions checked against If-Match, stamped changes."""

from __future__ import annotations

from typing import Any

from oppflow.errors import PreconditionFailed
from oppflow.models.base import Audited
from oppflow.security.actor import Actor


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
