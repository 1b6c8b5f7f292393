"""Shapes shared by every domain: pages of results and bounded string types."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints

from oppflow.errors import ValidationFailed

T = TypeVar("T")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]


class Strict(BaseModel):
    """Input models refuse unknown fields, so a typo is an error rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid")


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
        return datetime.fromisoformat(at), uuid.UUID(record_id)
    except (ValueError, TypeError) as error:
        raise ValidationFailed("The cursor is not one this API gave out.") from error
