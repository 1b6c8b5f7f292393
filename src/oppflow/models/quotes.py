"""Opportunity lines (opportunityproduct), quotes (quote) and their lines (quotedetail)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from oppflow.models.base import Audited, Base, new_id
from oppflow.models.catalog import QUANTITY


class LineFields(Audited):
    """What an opportunity line and a quote line both hold: a catalogue product at a price
    list's price, or a write-in (``product_id`` null, ``write_in_name`` set), and its amounts.

    ``extended_amount`` = ``quantity`` × ``price_per_unit`` − ``volume_discount`` −
    ``manual_discount`` + ``tax``, rounded to the currency's precision.
    """

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    line_number: Mapped[int]
    write_in_name: Mapped[str | None] = mapped_column(String(300), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    price_per_unit: Mapped[Decimal]
    is_price_overridden: Mapped[bool] = mapped_column(default=False)
    volume_discount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    manual_discount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(default=Decimal(0))
    extended_amount: Mapped[Decimal]

    @declared_attr
    def product_id(cls) -> Mapped[uuid.UUID | None]:  # noqa: N805
        return mapped_column(ForeignKey("products.id"), default=None, index=True)

    @declared_attr
    def unit_id(cls) -> Mapped[uuid.UUID | None]:  # noqa: N805
        return mapped_column(ForeignKey("units.id"), default=None)


class OpportunityLine(LineFields, Base):
    __tablename__ = "opportunity_lines"
    __table_args__ = (UniqueConstraint("opportunity_id", "line_number"),)

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )


class Quote(Audited, Base):
    """A quote made from an opportunity: Draft → Active → Won, or Closed (lost, canceled,
    revised). Revisions share ``number`` and count up ``revision_number``."""

    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("number", "revision_number"),
        CheckConstraint("state IN ('draft', 'active', 'won', 'closed')", name="state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[int]
    revision_number: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(300))
    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), default=None)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    price_list_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("price_lists.id"), default=None
    )
    revised_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("quotes.id"), default=None)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(8), default="draft")
    # in_progress (draft), active, won; lost, canceled or revised once closed.
    status_reason: Mapped[str] = mapped_column(String(16), default="in_progress")
    language: Mapped[str] = mapped_column(String(2), default="en")
    effective_from: Mapped[date | None] = mapped_column(default=None)
    effective_to: Mapped[date | None] = mapped_column(default=None)
    terms: Mapped[str | None] = mapped_column(Text, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # Sums of the lines, kept with the quote so lists and documents need not add them up.
    total_line_amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_discount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_tax: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_to: Mapped[str | None] = mapped_column(String(254), default=None)

    @property
    def quote_number(self) -> str:
        """The readable number, e.g. QUO-000123 (the same for every revision)."""
        return f"QUO-{self.number:06d}"


class QuoteLine(LineFields, Base):
    __tablename__ = "quote_lines"
    __table_args__ = (UniqueConstraint("quote_id", "line_number"),)

    quote_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True
    )
