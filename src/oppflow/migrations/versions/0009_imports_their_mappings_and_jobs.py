"""Imports, their mappings and jobs (issue 12)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("accounts", "contacts")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("external_id", sa.String(length=100), nullable=True))
        op.create_index(f"ix_{table}_external_id", table, ["external_id"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_external_id", table_name=table)
        # A plain DROP COLUMN (SQLite 3.35+), not a batch rebuild of the table: the rebuild
        # would lose the expression indexes of migration 0007 (lower(email), ...), which
        # SQLite cannot reflect.
        op.drop_column(table, "external_id")
