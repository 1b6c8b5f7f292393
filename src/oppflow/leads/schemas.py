"""Pydantic shapes of leads and of their qualification."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from oppflow.sales.schemas import (
    Money,
    Phone,
    PurchaseProcess,
    PurchaseTimeframe,
    Record,
    refuse_nulls,
)
from oppflow.schemas import NO_NUL, JsonBool, LongText, Name, Strict, visible, without_null

PersonName = Annotated[str, visible(100)]
CompanyName = Annotated[str, visible(160)]
LeadSource = Literal[
    "advertisement",
    "employee_referral",
    "external_referral",
    "partner",
    "public_relations",
    "seminar",
    "trade_show",
    "web",
    "word_of_mouth",
    "other",
]
LeadState = Literal["open", "qualified", "disqualified"]
OpenReason = Literal["new", "contacted"]
DisqualifyReason = Literal["lost", "cannot_contact", "no_longer_interested", "canceled"]
StatusReason = Literal[
    "new", "contacted", "qualified", "lost", "cannot_contact", "no_longer_interested", "canceled"
]
NON_NULLABLE_LEAD_FIELDS = ("topic", "decision_maker_identified", "status_reason")


class LeadFields(Strict):
    """The fields a user edits on an open lead, including the Qualify steps."""

    model_config = ConfigDict(json_schema_extra=without_null(NON_NULLABLE_LEAD_FIELDS))

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    company_name: CompanyName | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    estimated_value: Money | None = None
    source: LeadSource | None = None
    description: LongText | None = None
    status_reason: OpenReason | None = Field(
        default=None, description="new or contacted while the lead is open."
    )
    account_id: uuid.UUID | None = Field(
        default=None, description="An existing account that qualifying will link."
    )
    contact_id: uuid.UUID | None = Field(
        default=None, description="An existing contact that qualifying will link."
    )
    purchase_timeframe: PurchaseTimeframe | None = None
    budget_amount: Money | None = None
    purchase_process: PurchaseProcess | None = None
    decision_maker_identified: JsonBool | None = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        return refuse_nulls(data, NON_NULLABLE_LEAD_FIELDS)


class LeadCreate(LeadFields):
    topic: Name
    owner_id: uuid.UUID | None = None


class LeadUpdate(LeadFields):
    topic: Name | None = None


class LeadRead(Record):
    topic: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    phone: str | None
    estimated_value: Money | None
    source: str | None
    description: str | None
    owner_id: uuid.UUID
    state: LeadState
    status_reason: StatusReason
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    purchase_timeframe: PurchaseTimeframe | None
    budget_amount: Money | None
    purchase_process: PurchaseProcess | None
    decision_maker_identified: bool
    qualified_account_id: uuid.UUID | None
    qualified_contact_id: uuid.UUID | None
    qualified_opportunity_id: uuid.UUID | None


class LeadFilters(BaseModel):
    state: LeadState | None = None
    status_reason: StatusReason | None = None
    owner_id: uuid.UUID | None = None
    source: LeadSource | None = None
    q: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=NO_NUL)]
        | None
    ) = Field(default=None, description="Text in the topic, the names, the company or the e-mail.")

    @field_validator("q")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("q contains a NUL character")
        return value


class QualifyRequest(Strict):
    """What qualifying creates or links. Each of account and contact is linked when an existing
    one is named (here, or on the lead), else created when asked (by default: when the lead has a
    company name, or a last name)."""

    create_account: JsonBool | None = None
    create_contact: JsonBool | None = None
    create_opportunity: JsonBool = True
    existing_account_id: uuid.UUID | None = None
    existing_contact_id: uuid.UUID | None = None
    ignore_duplicates: JsonBool = Field(
        default=False, description="Create the account and contact even when matches exist."
    )


class QualifyResult(BaseModel):
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None


class Duplicate(BaseModel):
    table: Literal["account", "contact"]
    id: uuid.UUID
    name: str


class DisqualifyRequest(Strict):
    status_reason: DisqualifyReason
