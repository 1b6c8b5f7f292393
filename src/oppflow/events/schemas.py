"""What the API and the webhooks say about events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from oppflow.events.cursor import Cursor
from oppflow.models import Event

# An event type, or every type of a record kind ("opportunity.*").
TYPE_PATTERN = r"^(opportunity|lead|quote|\*)\.([a-z_]{1,30}|\*)$"


class EventRead(BaseModel):
    """One event, as the feed lists it and a webhook delivers it (without ``cursor``)."""

    id: uuid.UUID = Field(description="Unique; a webhook's retries carry the same id.")
    type: str = Field(examples=["opportunity.stage_changed"])
    timestamp: datetime = Field(description="When the change committed its flush (UTC).")
    record_type: str = Field(examples=["opportunity", "lead"])
    record_id: uuid.UUID
    sequence: int = Field(description="Increases with each event of the same record.")
    version: int = Field(description="The record's version after the change.")
    actor_id: uuid.UUID | None
    data: dict[str, Any] = Field(description="What changed; its shape depends on the type.")
    cursor: str | None = Field(default=None, description="Pass as `after` to read on.")

    @classmethod
    def of(cls, event: Event) -> EventRead:
        return cls(
            id=event.id,
            type=event.type,
            timestamp=event.occurred_at,
            record_type=event.record_type,
            record_id=event.record_id,
            sequence=event.record_seq,
            version=event.record_version,
            actor_id=event.actor_id,
            data=event.payload,
            cursor=str(Cursor(event.tx_id, event.seq)),
        )


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str = Field(description="Where to read on from, even when no item came.")
