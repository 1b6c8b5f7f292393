"""The change log: the single source every pipeline report is computed from (ANALYTICS.md §1)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.models.base import SEQUENCE_ID, Base


class OpportunityChange(Base):
    """Append-only: one row per tracked field of an opportunity that took a new value.

    ``effective_at`` is when the value became true, ``recorded_at`` when oppflow learned it;
    they differ only for history imported as it was. Values are text (ISO dates, decimal
    strings, UUIDs) so that one column holds every field's type exactly.
    """

    __tablename__ = "opportunity_changes"
    __table_args__ = (
        Index("ix_opportunity_changes_timeline", "opportunity_id", "effective_at", "seq"),
        Index("ix_opportunity_changes_field_at", "field", "effective_at"),
    )

    seq: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE")
    )
    field: Mapped[str] = mapped_column(String(24))
    old_value: Mapped[str | None] = mapped_column(String(64), default=None)
    new_value: Mapped[str | None] = mapped_column(String(64), default=None)
    effective_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
