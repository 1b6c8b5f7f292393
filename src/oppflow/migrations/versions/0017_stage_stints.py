"""The stage stints, read by time in stage of now (issue 9, decision 0032)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "stage_stints"
PERIOD = (
    "ix_stage_stints_period",
    ["entered_us", "process_key", "stage", "left_us", "opportunity_id"],
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("entered_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("left_us", sa.BigInteger(), nullable=True),
        sa.Column("process_key", sa.String(length=64), nullable=True),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_stage_stints_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", "entered_us", name=op.f("pk_stage_stints")),
    )
    op.create_index(PERIOD[0], TABLE, PERIOD[1])
    # Empty: oppflow.migrate fills it from the change log once the schema is at the head.


def downgrade() -> None:
    op.drop_index(PERIOD[0], table_name=TABLE)
    op.drop_table(TABLE)
