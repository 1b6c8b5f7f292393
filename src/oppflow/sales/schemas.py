"""Pydantic shapes of accounts, contacts, competitors and opportunities."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from oppflow.schemas import (
    JSON_INTEGER,
    NO_NUL,
    IsoDate,
    JsonBool,
    LongText,
    Name,
    ShortText,
    Strict,
    visible,
    without_null,
)

MAX_MONEY = 999_999_999_999_999
Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal(MAX_MONEY), max_digits=19, decimal_places=4),
    PlainSerializer(float, return_type=float, when_used="json"),
    # A JSON number in both directions, with the bounds and the four decimal places checked
    # (pydantic's own schema would also offer a string, without them).
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_MONEY, "multipleOf": 0.0001}),
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# Each as long as the column that stores it, so both databases accept the same values.
Name160 = Annotated[str, visible(160)]
Name100 = Annotated[str, visible(100)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
PurchaseTimeframe = Literal["immediate", "this_quarter", "next_quarter", "this_year", "unknown"]
PurchaseProcess = Literal["individual", "committee", "unknown"]
OpenForecastCategory = Literal["pipeline", "best_case", "committed", "omitted"]
ForecastCategory = Literal["pipeline", "best_case", "committed", "omitted", "won", "lost"]
Rating = Literal["hot", "warm", "cold"]
State = Literal["open", "won", "lost"]
LostReason = Literal["canceled", "out_sold"]


class Record(BaseModel):
    """Fields every record answers with."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    created_by_id: uuid.UUID | None
    modified_at: datetime
    modified_by_id: uuid.UUID | None
    version: int


def refuse_nulls(data: Any, fields: tuple[str, ...]) -> Any:
    """PATCH may clear optional fields with null, but never the ones a record cannot lack."""
    if isinstance(data, dict):
        for field in fields:
            if field in data and data[field] is None:
                raise ValueError(f"{field} cannot be null")
    return data


# Accounts
class AccountFields(Strict):
    website: ShortText | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    industry: Text100 | None = None
    city: Text100 | None = None
    country: Text100 | None = None
    description: LongText | None = None


class AccountCreate(AccountFields):
    name: Name160
    owner_id: uuid.UUID | None = None


class AccountUpdate(AccountFields):
    model_config = ConfigDict(json_schema_extra=without_null(("name",)))

    name: Name160 | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, ("name",))


class AccountRead(Record):
    name: str
    website: str | None
    phone: str | None
    email: str | None
    industry: str | None
    city: str | None
    country: str | None
    description: str | None
    owner_id: uuid.UUID


# Contacts
class ContactFields(Strict):
    first_name: Text100 | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    job_title: Text100 | None = None
    account_id: uuid.UUID | None = None
    description: LongText | None = None


class ContactCreate(ContactFields):
    last_name: Name100
    owner_id: uuid.UUID | None = None


class ContactUpdate(ContactFields):
    model_config = ConfigDict(json_schema_extra=without_null(("last_name",)))

    last_name: Name100 | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, ("last_name",))


class ContactRead(Record):
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    job_title: str | None
    account_id: uuid.UUID | None
    description: str | None
    owner_id: uuid.UUID


# Competitors
class CompetitorFields(Strict):
    website: ShortText | None = None
    strengths: LongText | None = None
    weaknesses: LongText | None = None


class CompetitorCreate(CompetitorFields):
    name: Name160


class CompetitorUpdate(CompetitorFields):
    model_config = ConfigDict(json_schema_extra=without_null(("name",)))

    name: Name160 | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, ("name",))


class CompetitorRead(Record):
    name: str
    website: str | None
    strengths: str | None
    weaknesses: str | None


# Opportunities
class OpportunityFields(Strict):
    """The fields a user edits, including the steps of the built-in processes."""

    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    estimated_value: Money | None = None
    estimated_close_date: IsoDate | None = None
    probability: Annotated[int, Field(ge=0, le=100), JSON_INTEGER] | None = None
    forecast_category: OpenForecastCategory | None = None
    rating: Rating | None = None
    description: LongText | None = None
    currency: Currency | None = None
    price_list_id: uuid.UUID | None = None
    is_revenue_system_calculated: JsonBool | None = Field(
        default=None, description="When true, estimated_value is the sum of the lines."
    )
    purchase_timeframe: PurchaseTimeframe | None = None
    budget_amount: Money | None = None
    purchase_process: PurchaseProcess | None = None
    decision_maker_identified: JsonBool | None = None
    customer_need: LongText | None = None
    proposed_solution: LongText | None = None
    stakeholders_identified: JsonBool | None = None
    competitors_identified: JsonBool | None = None
    sales_team_identified: JsonBool | None = None
    proposal_developed: JsonBool | None = None
    internal_review_completed: JsonBool | None = None
    proposal_presented: JsonBool | None = None
    final_proposal_completed: JsonBool | None = None
    final_proposal_presented: JsonBool | None = None
    final_decision_date: IsoDate | None = None
    thank_you_note_sent: JsonBool | None = None
    debrief_filed: JsonBool | None = None


NON_NULLABLE_OPPORTUNITY_FIELDS = (
    "name",
    "forecast_category",
    "currency",
    "is_revenue_system_calculated",
    "decision_maker_identified",
    "stakeholders_identified",
    "competitors_identified",
    "sales_team_identified",
    "proposal_developed",
    "internal_review_completed",
    "proposal_presented",
    "final_proposal_completed",
    "final_proposal_presented",
    "thank_you_note_sent",
    "debrief_filed",
)


class OpportunityCreate(OpportunityFields):
    model_config = ConfigDict(json_schema_extra=without_null(NON_NULLABLE_OPPORTUNITY_FIELDS))

    name: Name
    owner_id: uuid.UUID | None = None
    process_key: str | None = Field(
        default=None, description="Start on this process instead of the default one."
    )

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, NON_NULLABLE_OPPORTUNITY_FIELDS)


class OpportunityUpdate(OpportunityFields):
    model_config = ConfigDict(json_schema_extra=without_null(NON_NULLABLE_OPPORTUNITY_FIELDS))

    name: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, NON_NULLABLE_OPPORTUNITY_FIELDS)


class OpportunityRead(Record):
    name: str
    owner_id: uuid.UUID
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    estimated_value: Money | None
    estimated_close_date: date | None
    probability: int | None
    forecast_category: ForecastCategory
    rating: Rating | None
    description: str | None
    currency: str
    price_list_id: uuid.UUID | None
    is_revenue_system_calculated: bool
    state: State
    status_reason: str
    actual_value: Money | None
    actual_close_date: date | None
    originating_lead_id: uuid.UUID | None
    pipeline_phase: str | None
    process_key: str | None
    active_stage: str | None
    purchase_timeframe: PurchaseTimeframe | None
    budget_amount: Money | None
    purchase_process: PurchaseProcess | None
    decision_maker_identified: bool
    customer_need: str | None
    proposed_solution: str | None
    stakeholders_identified: bool
    competitors_identified: bool
    sales_team_identified: bool
    proposal_developed: bool
    internal_review_completed: bool
    proposal_presented: bool
    final_proposal_completed: bool
    final_proposal_presented: bool
    final_decision_date: date | None
    thank_you_note_sent: bool
    debrief_filed: bool


class OpportunityFilters(BaseModel):
    state: State | None = None
    owner_id: uuid.UUID | None = None
    pipeline_phase: Annotated[str, StringConstraints(max_length=40, pattern=NO_NUL)] | None = None
    process_key: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)] | None = None
    q: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=NO_NUL)]
        | None
    ) = None


class WinRequest(Strict):
    actual_revenue: Money | None = None
    close_date: IsoDate | None = None
    description: LongText | None = None


class LoseRequest(Strict):
    status_reason: LostReason = "canceled"
    competitor_id: uuid.UUID | None = None
    close_date: IsoDate | None = None
    description: LongText | None = None


class CloseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    outcome: Literal["won", "lost"]
    status: Literal["completed", "canceled"]
    status_reason: str
    actual_revenue: Money | None
    close_date: date
    competitor_id: uuid.UUID | None
    description: str | None
    created_at: datetime
