"""Shapes shared by every domain: pages of results and bounded string types."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from oppflow.errors import ValidationFailed

T = TypeVar("T")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]


class Strict(BaseModel):
    """Input models refuse unknown fields, so a typo is an error rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        # PostgreSQL cannot store NUL in text (SQLite would): refuse it on every database alike.
        _check_no_nul(data, ())
        return data


def _check_no_nul(value: Any, where: tuple[str | int, ...]) -> None:
    if isinstance(value, str) and "\x00" in value:
        field = ".".join(str(part) for part in where) or "value"
        raise ValueError(f"{field} contains a NUL character")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_no_nul(item, (*where, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_no_nul(item, (*where, index))


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, record_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(record_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, record_id = json.loads(base64.urlsafe_b64decode(padded))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:  # the cursors this API gives out are in UTC
            raise ValueError("a cursor's time carries its zone")
        return moment.astimezone(UTC), uuid.UUID(record_id)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValidationFailed("The cursor is not one this API gave out.") from error
