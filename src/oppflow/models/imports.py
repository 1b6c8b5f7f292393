"""Saved column mappings of imports and the import jobs the worker runs (issue 12)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.clock import utcnow
from oppflow.models.base import Base, new_id


class ImportMapping(Base):
    """A user's named mapping of a file's columns (headers) to a table's fields, to reuse."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    table: Mapped[str] = mapped_column(String(40))
    # header -> API field
    columns: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportJob(Base):
    """One upload imported by the worker as its owner: ``draft`` (uploaded, its mapping not yet
    chosen on the page), ``queued``, ``running`` (``rows_done`` of ``rows_total``), then
    ``done`` or ``failed``. The file and the report are contents of the file store, by SHA-256."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_status", "status", "created_at"),
        Index("ix_import_jobs_owner", "owner_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    table: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    headers: Mapped[list[str]] = mapped_column(JSON)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON)
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows_total: Mapped[int | None] = mapped_column(default=None)
    rows_done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    existing: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    report_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # A running job whose worker stops renewing this (killed) is marked failed, not left running.
    lease_until: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def has_report(self) -> bool:
        return self.report_sha256 is not None
