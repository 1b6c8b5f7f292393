"""Leads: prospects not yet qualified into an account, a contact and an opportunity."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.models.base import Audited, Base, new_id


class Lead(Audited, Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_owner_state", "owner_id", "state"),
        Index("ix_leads_created_at_id", "created_at", "id"),
        # The list's page of one state in creation order (migration 0013).
        Index("ix_leads_state_created_at_id", "state", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    topic: Mapped[str] = mapped_column(String(300))
    # The record's id in the system it was imported from; imports match on it (decision 0019).
    external_id: Mapped[str | None] = mapped_column(
        String(100), default=None, index=True, unique=True
    )
    first_name: Mapped[str | None] = mapped_column(String(100), default=None)
    last_name: Mapped[str | None] = mapped_column(String(100), default=None)
    company_name: Mapped[str | None] = mapped_column(String(160), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None, index=True)
    phone: Mapped[str | None] = mapped_column(String(50), default=None)
    estimated_value: Mapped[Decimal | None] = mapped_column(default=None)
    source: Mapped[str | None] = mapped_column(String(24), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("business_units.id"), default=None, index=True
    )
    # open (new, contacted) → qualified (qualified) or disqualified (lost, cannot_contact,
    # no_longer_interested, canceled); closed leads are read-only until reactivated.
    state: Mapped[str] = mapped_column(String(16), default="open")
    status_reason: Mapped[str] = mapped_column(String(24), default="new")

    # The Qualify stage's steps ("Existing Contact?", "Existing Account?" and the rest).
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id"), default=None, index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), default=None, index=True
    )
    purchase_timeframe: Mapped[str | None] = mapped_column(String(16), default=None)
    budget_amount: Mapped[Decimal | None] = mapped_column(default=None)
    purchase_process: Mapped[str | None] = mapped_column(String(16), default=None)
    decision_maker_identified: Mapped[bool] = mapped_column(default=False)

    # What qualifying created or linked.
    qualified_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    qualified_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    qualified_opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL"), default=None, index=True
    )
