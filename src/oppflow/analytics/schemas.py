"""Shapes of the analytics answers and their filters."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, PlainSerializer, StringConstraints

Amount = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class FunnelFilters(BaseModel):
    owner_id: uuid.UUID | None = None
    business_unit_id: uuid.UUID | None = None
    process_key: Annotated[str, StringConstraints(max_length=64)] | None = None
    close_from: date | None = None
    close_to: date | None = None


class FunnelPhase(BaseModel):
    pipeline_phase: str
    count: int
    estimated_value: Amount
    weighted_value: Amount


class Funnel(BaseModel):
    phases: list[FunnelPhase]
