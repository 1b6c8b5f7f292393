"""Opportunities, their close records and the competitors they are lost to."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.clock import utcnow
from oppflow.models.base import Audited, Base, lower_index, new_id


class Competitor(Audited, Base):
    __tablename__ = "competitors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(160), index=True)
    website: Mapped[str | None] = mapped_column(String(200), default=None)
    strengths: Mapped[str | None] = mapped_column(Text, default=None)
    weaknesses: Mapped[str | None] = mapped_column(Text, default=None)


class Opportunity(Audited, Base):
    __tablename__ = "opportunities"
    __table_args__ = (
        CheckConstraint("probability IS NULL OR (probability BETWEEN 0 AND 100)", name="prob"),
        # The ids of the board's readable cards of a phase in close-date, then id order, from
        # the index alone (migration 0027); won and lost by close date.
        Index(
            "ix_opportunities_state_phase_close",
            "state",
            "pipeline_phase",
            "estimated_close_date",
            "id",
            "owning_business_unit_id",
            "owner_id",
        ),
        Index("ix_opportunities_state_closed_on", "state", "actual_close_date"),
        Index("ix_opportunities_owner_state", "owner_id", "state"),
        # A cohort's members as they are now, in creation order: from the index alone (0020).
        Index(
            "ix_opportunities_created_covering",
            "created_at",
            "id",
            "state",
            "estimated_value",
            "probability",
            "process_key",
            "active_stage",
            "owning_business_unit_id",
            "owner_id",
        ),
        # A list view's page in its sort's order, read in index order (migrations 0013, 0014).
        Index("ix_opportunities_state_close_id", "state", "estimated_close_date", "id"),
        Index("ix_opportunities_state_name_id", "state", "name", "id"),
        Index("ix_opportunities_state_value_id", "state", "estimated_value", "id"),
        Index("ix_opportunities_state_probability_id", "state", "probability", "id"),
        Index("ix_opportunities_state_phase_id", "state", "pipeline_phase", "id"),
        Index("ix_opportunities_state_modified_id", "state", "modified_at", "id"),
        # What the stale report of now reads of the open records, from the index alone
        # (migration 0019); partial, so that no other query prefers it.
        Index(
            "ix_opportunities_open_stale",
            "state",
            "modified_at",
            "id",
            "process_key",
            "active_stage",
            "stage_entered_at",
            "owning_business_unit_id",
            "owner_id",
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_opportunities_state_created_id", "state", "created_at", "id"),
        # Covers row-level security by ownership (unit, owner, and the id its share and sales
        # team checks need) over the open ones: a salesperson's list count reads no table row.
        Index(
            "ix_opportunities_state_unit_owner",
            "state",
            "owning_business_unit_id",
            "owner_id",
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(300))
    # The record's id in the system it was imported from; imports match on it (decision 0019).
    external_id: Mapped[str | None] = mapped_column(
        String(100), default=None, index=True, unique=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The owner's business unit, kept with the record (as Dynamics' owningbusinessunit) so that
    # row-level security is one indexed comparison.
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("business_units.id"), default=None, index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), default=None, index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id"), default=None, index=True
    )
    estimated_value: Mapped[Decimal | None] = mapped_column(default=None)
    estimated_close_date: Mapped[date | None] = mapped_column(default=None, index=True)
    probability: Mapped[int | None] = mapped_column(default=None)
    forecast_category: Mapped[str] = mapped_column(String(16), default="pipeline")
    rating: Mapped[str | None] = mapped_column(String(8), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # No foreign key, as originating_lead_id: migration 0008 adds and drops it in place on
    # SQLite, where a constraint would mean copying the table others refer to.
    price_list_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # When true, estimated_value is the sum of the lines' extended amounts (oppflow.quotes).
    is_revenue_system_calculated: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    state: Mapped[str] = mapped_column(String(8), default="open")
    status_reason: Mapped[str] = mapped_column(String(16), default="in_progress")
    actual_value: Mapped[Decimal | None] = mapped_column(default=None)
    actual_close_date: Mapped[date | None] = mapped_column(default=None)
    originating_lead_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)

    # Where the current process instance stands, kept with the record (as Dynamics keeps
    # processid/stageid) so lists, boards and the funnel never join the instances.
    pipeline_phase: Mapped[str | None] = mapped_column(String(40), default=None)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    active_stage: Mapped[str | None] = mapped_column(String(64), default=None)
    # Its latest change of process, stage or state in the change log (stage_entries.py).
    stage_entered_at: Mapped[datetime | None] = mapped_column(default=None)

    # Steps of the built-in processes (DESIGN §1).
    purchase_timeframe: Mapped[str | None] = mapped_column(String(16), default=None)
    budget_amount: Mapped[Decimal | None] = mapped_column(default=None)
    purchase_process: Mapped[str | None] = mapped_column(String(16), default=None)
    decision_maker_identified: Mapped[bool] = mapped_column(default=False)
    customer_need: Mapped[str | None] = mapped_column(Text, default=None)
    proposed_solution: Mapped[str | None] = mapped_column(Text, default=None)
    stakeholders_identified: Mapped[bool] = mapped_column(default=False)
    competitors_identified: Mapped[bool] = mapped_column(default=False)
    sales_team_identified: Mapped[bool] = mapped_column(default=False)
    proposal_developed: Mapped[bool] = mapped_column(default=False)
    internal_review_completed: Mapped[bool] = mapped_column(default=False)
    proposal_presented: Mapped[bool] = mapped_column(default=False)
    final_proposal_completed: Mapped[bool] = mapped_column(default=False)
    final_proposal_presented: Mapped[bool] = mapped_column(default=False)
    final_decision_date: Mapped[date | None] = mapped_column(default=None)
    thank_you_note_sent: Mapped[bool] = mapped_column(default=False)
    debrief_filed: Mapped[bool] = mapped_column(default=False)


class OpportunityClose(Base):
    """The outcome of closing an opportunity as won or lost; canceled when it is reopened."""

    __tablename__ = "opportunity_closes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(8))  # won | lost
    status: Mapped[str] = mapped_column(String(12), default="completed")  # completed | canceled
    status_reason: Mapped[str] = mapped_column(String(16))
    actual_revenue: Mapped[Decimal | None] = mapped_column(default=None)
    close_date: Mapped[date]
    competitor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("competitors.id"), default=None
    )
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


# Pickers search competitors by prefix, case-insensitively (oppflow.lookup.repository).
lower_index("ix_competitors_name_lower", Competitor.name)
