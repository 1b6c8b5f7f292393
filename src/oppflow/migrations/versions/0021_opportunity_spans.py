"""The opportunity spans, read by the reports as of a past instant (issue 9, decision 0035)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "opportunity_spans"
OPEN = (
    "ix_opportunity_spans_open",
    [
        "to_us",
        "from_us",
        "opportunity_id",
        "pipeline_phase",
        "process_key",
        "active_stage",
        "estimated_value",
        "probability",
        "estimated_close_date",
        "owner_id",
    ],
)
WHERE = "state = 'open'"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("from_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("to_us", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("pipeline_phase", sa.String(length=40), nullable=True),
        sa.Column("process_key", sa.String(length=64), nullable=True),
        sa.Column("active_stage", sa.String(length=64), nullable=True),
        sa.Column("estimated_value", sa.String(length=40), nullable=True),
        sa.Column("probability", sa.String(length=8), nullable=True),
        sa.Column("estimated_close_date", sa.String(length=10), nullable=True),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_spans_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", "from_us", name=op.f("pk_opportunity_spans")),
    )
    op.create_index(
        OPEN[0], TABLE, OPEN[1], sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE)
    )
    # Empty: oppflow.migrate fills it from the change log once the schema is at the head.


def downgrade() -> None:
    op.drop_index(OPEN[0], table_name=TABLE)
    op.drop_table(TABLE)
