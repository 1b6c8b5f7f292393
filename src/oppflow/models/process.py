"""Process definitions (as stored YAML), process instances and the stage history."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.clock import utcnow
from oppflow.models.base import SEQUENCE_ID, Audited, Base, new_id


class Process(Audited, Base):
    """A business process flow; its definitions live in :class:`ProcessVersion`."""

    __tablename__ = "processes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    primary_table: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    is_builtin: Mapped[bool] = mapped_column(default=False)
    display_order: Mapped[int] = mapped_column(default=100)


class ProcessVersion(Base):
    """One immutable version of a process definition; instances keep the version they run."""

    __tablename__ = "process_versions"

    process_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    definition_yaml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class ProcessInstance(Base):
    """A record's run through one process; the most recently used one is the current one."""

    __tablename__ = "process_instances"
    __table_args__ = (
        UniqueConstraint("process_id", "opportunity_id"),
        UniqueConstraint("process_id", "lead_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id"))
    process_version: Mapped[int]
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), default=None, index=True
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), default=None, index=True
    )
    active_stage: Mapped[str] = mapped_column(String(64))
    active_stage_started_at: Mapped[datetime]
    traversed_path: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="active")
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class StageHistory(Base):
    """Append-only: one row per stage change or status change of a process instance."""

    __tablename__ = "stage_history"
    __table_args__ = (
        Index("ix_stage_history_opportunity_seq", "opportunity_id", "seq"),
        Index("ix_stage_history_at", "at"),
    )

    seq: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), default=None
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), default=None, index=True
    )
    process_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    from_stage: Mapped[str | None] = mapped_column(String(64), default=None)
    to_stage: Mapped[str] = mapped_column(String(64))
    pipeline_phase: Mapped[str] = mapped_column(String(40))
    estimated_value: Mapped[Decimal | None] = mapped_column(default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
