"""External ids of leads and opportunities; import runs for --resume (issue 12)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from oppflow.models.base import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("leads", "opportunities")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("external_id", sa.String(length=100), nullable=True))
        op.create_index(f"ix_{table}_external_id", table, ["external_id"], unique=True)
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("table", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("existing", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_runs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_index(
        "ix_import_runs_file", "import_runs", ["user_id", "table", "file_sha256", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_import_runs_file", table_name="import_runs")
    op.drop_table("import_runs")
    for table in TABLES:
        op.drop_index(f"ix_{table}_external_id", table_name=table)
        # A plain DROP COLUMN (SQLite 3.35+), not a batch rebuild of the table: the rebuild
        # would lose the expression indexes of migration 0007, which SQLite cannot reflect.
        op.drop_column(table, "external_id")
