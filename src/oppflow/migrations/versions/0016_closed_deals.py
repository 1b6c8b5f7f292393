"""The closed deals, read by win/loss and calibration of now (issue 9, decision 0031)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import oppflow.models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "closed_deals"
PERIOD = (
    "ix_closed_deals_period",
    [
        "actual_close_date",
        "won",
        "cycle_microseconds",
        "closed_value",
        "status_reason",
        "phases_reached",
        "opportunity_id",
    ],
)
CALIBRATION = (
    "ix_closed_deals_calibration",
    [
        "won",
        "phases_reached",
        "outlook_state",
        "outlook_probability",
        "outlook_process_key",
        "outlook_stage",
    ],
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("won", sa.Boolean(), nullable=False),
        sa.Column("born_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actual_close_date", sa.Date(), nullable=True),
        sa.Column("cycle_microseconds", sa.BigInteger(), nullable=False),
        sa.Column("closed_value", sa.String(length=48), nullable=False),
        sa.Column("status_reason", sa.String(length=16), nullable=True),
        sa.Column("phases_reached", sa.String(length=400), nullable=False),
        sa.Column("outlook_state", sa.String(length=16), nullable=True),
        sa.Column("outlook_probability", sa.Integer(), nullable=True),
        sa.Column("outlook_process_key", sa.String(length=64), nullable=True),
        sa.Column("outlook_stage", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_closed_deals_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", name=op.f("pk_closed_deals")),
    )
    op.create_index(PERIOD[0], TABLE, PERIOD[1])
    op.create_index(CALIBRATION[0], TABLE, CALIBRATION[1])
    # Empty: oppflow.migrate fills it from the change log once the schema is at the head.


def downgrade() -> None:
    op.drop_index(CALIBRATION[0], table_name=TABLE)
    op.drop_index(PERIOD[0], table_name=TABLE)
    op.drop_table(TABLE)
