"""What the API says and takes about webhook subscriptions and their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from oppflow.events.schemas import TYPE_PATTERN

EventPattern = Annotated[str, StringConstraints(pattern=TYPE_PATTERN, max_length=40)]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00]+$", max_length=2000)]
Description = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(examples=["https://erp.example.com/hooks/oppflow"])
    events: list[EventPattern] = Field(
        min_length=1, max_length=20, examples=[["opportunity.*", "lead.qualified"]]
    )
    process_keys: list[Key] | None = Field(
        default=None, max_length=20, description="Only events of opportunities in these."
    )
    pipeline_phases: list[Key] | None = Field(
        default=None, max_length=20, description="Only events of opportunities in these."
    )
    description: Description | None = None


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: list[EventPattern] | None = Field(default=None, min_length=1, max_length=20)
    process_keys: list[Key] | None = Field(default=None, max_length=20)
    pipeline_phases: list[Key] | None = Field(default=None, max_length=20)
    description: Description | None = None
    enabled: bool | None = Field(
        default=None, description="true re-enables a disabled subscription."
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str | None
    events: list[str] = Field(validation_alias=AliasChoices("event_types", "events"))
    process_keys: list[str] | None
    pipeline_phases: list[str] | None
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (Standard Webhooks, `whsec_…`): shown this once."
    )


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None


class DeliveryRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str = Field(examples=["pending", "delivering", "succeeded", "failed"])
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    log: list[AttemptRead]
