"""Shapes of the analytics answers and their filters."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer, StringConstraints

from oppflow.sales.schemas import OpportunityFilters
from oppflow.schemas import NO_NUL, IsoDate

Amount = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class FunnelFilters(BaseModel):
    owner_id: uuid.UUID | None = None
    business_unit_id: uuid.UUID | None = None
    process_key: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)] | None = None
    close_from: IsoDate | None = None
    close_to: IsoDate | None = None


class FunnelPhase(BaseModel):
    pipeline_phase: str
    count: int
    estimated_value: Amount
    weighted_value: Amount


class Funnel(BaseModel):
    phases: list[FunnelPhase]


class OwnerTotal(BaseModel):
    owner_id: uuid.UUID
    count: int
    estimated_value: Amount
    weighted_value: Amount


class OutcomeTotal(BaseModel):
    state: Literal["won", "lost"]
    count: int
    value: Amount


ListView = Literal["my_open", "member", "closed", "open", "all"]
SortKey = Literal[
    "name",
    "estimated_value",
    "estimated_close_date",
    "probability",
    "pipeline_phase",
    "modified_at",
    "created_at",
]


class OpportunitySearch(OpportunityFilters):
    """A list view: which opportunities, in which order, which page."""

    view: ListView = "my_open"
    business_unit_id: uuid.UUID | None = None
    sort: SortKey = "estimated_close_date"
    descending: bool = False
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=500)] = 25
