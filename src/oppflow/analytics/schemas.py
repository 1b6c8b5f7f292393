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


Convention = dict[str, str | int | bool | None]
Rate = float | None


class Funnel(BaseModel):
    convention: Convention = {}
    phases: list[FunnelPhase]


class ConversionRow(BaseModel):
    pipeline_phase: str
    reached: int
    next_step_rate: Rate
    cumulative_rate: Rate
    won: int
    lost: int
    open: int
    win_rate: Rate


class FlowRow(BaseModel):
    pipeline_phase: str
    entries: int
    reopened: int
    exits_next: int
    exits_back: int
    exits_won: int
    exits_lost: int


class TimeInStageRow(BaseModel):
    process: str
    stage: str
    pipeline_phase: str
    completed: int
    still_open: int
    median_days: Rate
    mean_completed_days: Rate


class StaleRow(BaseModel):
    opportunity_id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    process: str | None
    stage: str | None
    pipeline_phase: str | None
    days_in_stage: int
    days_idle: int
    threshold_days: int
    stale_in_stage: bool
    idle: bool


class ForecastRow(BaseModel):
    month: str
    count: int
    closed: Amount
    commit: Amount
    best_case: Amount
    pipeline: Amount
    omitted: Amount
    weighted_pipeline: Amount


class WaterfallRow(BaseModel):
    line: Literal[
        "beginning",
        "new",
        "increased",
        "decreased",
        "pulled_out",
        "pushed_out",
        "won",
        "lost",
        "ending",
    ]
    count: int
    value: Amount
    opportunity_ids: list[uuid.UUID] | None = None


class WinLossRow(BaseModel):
    won: int
    lost: int
    won_value: Amount
    lost_value: Amount
    win_rate: Rate
    win_rate_by_value: Rate
    median_cycle_days_won: Rate
    median_cycle_days_closed: Rate
    open: int
    mean_won_value: Amount | None
    velocity_per_day: Amount | None


class Tally(BaseModel):
    key: str
    count: int


class CalibrationRow(BaseModel):
    pipeline_phase: str
    won: int
    lost: int
    stage_default: int | None
    empirical_rate: Rate
    insufficient_history: bool


class ReliabilityBin(BaseModel):
    low: float
    high: float
    count: int
    mean_predicted: Rate
    observed_win_share: Rate


class Report(BaseModel):
    convention: Convention


class ConversionReport(Report):
    rows: list[ConversionRow]


class FlowReport(Report):
    rows: list[FlowRow]


class TimeInStageReport(Report):
    rows: list[TimeInStageRow]


class StaleReport(Report):
    rows: list[StaleRow]


class ForecastReport(Report):
    rows: list[ForecastRow]


class WaterfallReport(Report):
    rows: list[WaterfallRow]


class WinLossReport(Report):
    rows: list[WinLossRow]
    loss_reasons: list[Tally]
    competitors: list[Tally]
    phase_before_loss: list[Tally]


class CalibrationReport(Report):
    rows: list[CalibrationRow]
    closed: int
    brier_score: Rate
    reliability: list[ReliabilityBin]


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
