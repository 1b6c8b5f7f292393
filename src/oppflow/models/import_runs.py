"""The progress of a command-line import, so that ``--resume`` carries on where it stopped."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.clock import utcnow
from oppflow.models.base import Base, new_id


class ImportRun(Base):
    """One import of a file (by SHA-256) into a table by a user: ``running`` until its last
    batch commits (``done``), or ``abandoned`` when the file is imported again from the start.

    ``rows_done`` and the counts are written in the same transaction as each batch, so they
    say exactly which rows are committed, whenever the process dies."""

    __tablename__ = "import_runs"
    __table_args__ = (Index("ix_import_runs_file", "user_id", "table", "file_sha256", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    table: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    rows_done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    existing: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
