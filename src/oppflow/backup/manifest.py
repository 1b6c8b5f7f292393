"""What an archive holds, written beside the data so that a restore can prove it is whole."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, text

from oppflow.models import Base

FORMAT = 1
MANIFEST = "manifest.json"


@dataclass
class Manifest:
    dialect: str
    revision: str | None
    created_at: str
    # Rows per table, read in the same snapshot as the dump.
    tables: dict[str, int] = field(default_factory=dict)
    # SHA-256 → size of every stored file.
    files: dict[str, int] = field(default_factory=dict)
    schema: str | None = None
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        loaded: dict[str, Any] = json.loads(data)
        if loaded.get("format") != FORMAT:
            raise ValueError(f"unknown archive format {loaded.get('format')!r}")
        return cls(**loaded)


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows in every table of the schema (the models' tables and Alembic's)."""
    counts = {
        table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }
    counts["alembic_version"] = int(
        connection.scalar(text("SELECT count(*) FROM alembic_version")) or 0
    )
    return counts


def revision_of(connection: Connection) -> str | None:
    revision: str | None = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return revision
