"""Each user's time zone and language for the web pages.

Users set their own; changing another user's needs write on users (the administration pages).
Times stay stored and exchanged in UTC: these only say how pages show them.
"""

from __future__ import annotations

import uuid
import zoneinfo
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from oppflow.errors import ValidationFailed
from oppflow.models import User
from oppflow.records import apply_changes
from oppflow.security.actor import Actor
from oppflow.security.repository import UserRepository

LANGUAGES = ("en", "fr")


class PreferencesUpdate(BaseModel):
    """Absent fields stay as they are; an explicit null means "as the browser says"."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA time zones this system knows, sorted (``UTC`` among them)."""
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


def valid_time_zone(name: str | None) -> str | None:
    """``name`` if it is a known IANA time zone, else none (for a browser's guess)."""
    return name if name and name in time_zones() else None


def set_preferences(
    session: Session, *, actor: Actor, user_id: uuid.UUID, data: PreferencesUpdate
) -> User:
    """Change a user's time zone or language; a zone or language not known is a 422."""
    if user_id != actor.user_id:
        actor.require("user", "write")
    user = UserRepository(session).get(user_id)
    changes = data.model_dump(exclude_unset=True)
    zone = changes.get("time_zone")
    if zone is not None and valid_time_zone(zone) is None:
        raise ValidationFailed(f"time_zone: unknown time zone {zone[:64]!r}.", field="time_zone")
    language = changes.get("language")
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed(f"language: one of {', '.join(LANGUAGES)}.", field="language")
    apply_changes(user, changes, actor)
    session.flush()
    return user
