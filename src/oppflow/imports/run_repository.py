"""Queries on import runs (the progress ``--resume`` reads): a user's own runs only."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from oppflow.models import ImportRun


class RunRepository:
    def __init__(self, session: Session, user_id: uuid.UUID) -> None:
        self.session = session
        self.user_id = user_id

    def latest(self, table: str, file_sha256: str, status: str) -> ImportRun | None:
        """This user's latest run of that file into that table with that status."""
        query = select(ImportRun).where(
            ImportRun.user_id == self.user_id,
            ImportRun.table == table,
            ImportRun.file_sha256 == file_sha256,
            ImportRun.status == status,
        )
        return self.session.scalar(query.order_by(ImportRun.started_at.desc()).limit(1))

    def add(self, run: ImportRun) -> ImportRun:
        self.session.add(run)
        self.session.flush()
        return run
