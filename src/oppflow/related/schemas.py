"""Pydantic shapes of stakeholders, sales team members, competitor links, notes and files."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict

from oppflow.schemas import Strict, visible

# DESIGN §1.1: the roles of the seed, as Dynamics names them.
StakeholderRole = Literal[
    "stakeholder",
    "champion",
    "decision_maker",
    "end_user",
    "economic_buyer",
    "influencer",
    "technical_buyer",
]
SalesTeamRole = Literal[
    "sales_team_member",
    "account_manager",
    "delivery_professional",
    "technical_sales_professional",
    "industry_expert",
    "territory_manager",
    "service_professional",
]
NoteText = Annotated[
    str,
    visible(20_000),
]


class StakeholderCreate(Strict):
    contact_id: uuid.UUID
    role: StakeholderRole = "stakeholder"


class StakeholderUpdate(Strict):
    role: StakeholderRole


class StakeholderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    contact_id: uuid.UUID
    name: str
    email: str | None
    job_title: str | None
    role: StakeholderRole
    created_at: datetime
    created_by_id: uuid.UUID | None


class SalesTeamCreate(Strict):
    user_id: uuid.UUID
    role: SalesTeamRole = "sales_team_member"


class SalesTeamUpdate(Strict):
    role: SalesTeamRole


class SalesTeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    username: str
    full_name: str
    role: SalesTeamRole
    created_at: datetime
    created_by_id: uuid.UUID | None


class CompetitorLinkCreate(Strict):
    competitor_id: uuid.UUID


class CompetitorLinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    competitor_id: uuid.UUID
    name: str
    website: str | None
    strengths: str | None
    weaknesses: str | None
    created_at: datetime
    created_by_id: uuid.UUID | None


class NoteCreate(Strict):
    text: NoteText


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lead_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    text: str
    author_id: uuid.UUID | None
    at: datetime


class FileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    opportunity_id: uuid.UUID
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: uuid.UUID | None
    created_at: datetime
