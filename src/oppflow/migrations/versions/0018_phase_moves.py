"""The phase moves, read by flow of now (issue 9, decision 0033)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "phase_moves"
PERIOD = ("ix_phase_moves_period", ["at_us", "phase", "move", "reopened", "opportunity_id"])


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("move", sa.String(length=8), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_phase_moves_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", "at_us", "phase", name=op.f("pk_phase_moves")),
    )
    op.create_index(PERIOD[0], TABLE, PERIOD[1])
    # Empty: oppflow.migrate fills it from the change log once the schema is at the head.


def downgrade() -> None:
    op.drop_index(PERIOD[0], table_name=TABLE)
    op.drop_table(TABLE)
