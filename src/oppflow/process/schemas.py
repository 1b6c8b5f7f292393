"""Pydantic shapes of processes and process instances, as the API answers them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from oppflow.schemas import JSON_INTEGER, JsonBool, Strict


class ProcessRef(BaseModel):
    key: str
    name: str
    version: int


class StageRef(BaseModel):
    key: str
    name: str
    category: str
    started_at: datetime | None = None


class StepView(BaseModel):
    field: str
    label: str
    required: bool
    complete: bool


class StageView(BaseModel):
    key: str
    name: str
    category: str
    table: str
    steps: list[StepView]


class MissingStep(BaseModel):
    field: str
    label: str


class OtherInstance(BaseModel):
    process: ProcessRef
    status: Literal["active", "finished", "aborted"]
    active_stage: StageRef


class InstanceView(BaseModel):
    """The current process instance of a record, with every stage and what is missing."""

    process: ProcessRef
    status: Literal["active", "finished", "aborted"]
    active_stage: StageRef
    traversed_path: list[str]
    completed_at: datetime | None
    stages: list[StageView]
    missing_steps: list[MissingStep]
    instances: list[OtherInstance]
    record_version: int = Field(description="The opportunity's version after this answer.")


class SetActiveRequest(Strict):
    stage: Annotated[str, Field(min_length=1, max_length=64)]


class SwitchRequest(Strict):
    process: Annotated[str, Field(min_length=1, max_length=64)]


class HistoryItem(BaseModel):
    process_key: str
    from_stage: str | None
    to_stage: str
    kind: str
    pipeline_phase: str
    # A number in JSON, as the opportunity's own estimated_value; the serializer's return type
    # is what the OpenAPI document shows.
    estimated_value: (
        Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")] | None
    )
    at: datetime
    by: uuid.UUID | None


class HistoryPage(BaseModel):
    items: list[HistoryItem]


class ProcessSummary(BaseModel):
    key: str
    name: str
    table: str
    version: int
    is_active: bool
    is_builtin: bool
    display_order: int
    stages: list[str]


class ProcessDetail(ProcessSummary):
    definition: dict[str, object]
    yaml: str


class ProcessUpdate(Strict):
    is_active: JsonBool | None = None
    display_order: Annotated[int, Field(ge=0, le=10_000), JSON_INTEGER] | None = None


class ProcessImport(Strict):
    yaml: Annotated[str, Field(min_length=1, max_length=200_000)]
