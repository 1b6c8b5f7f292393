"""The closed deals in time: one row per stretch an opportunity stood closed, from when to
when, with its owner and process then, so that win/loss and calibration as of any instant
read them too (issue 9, decision 0038). The table is made again, empty, and filled from the
change log by ``oppflow.migrate.upgrade`` once the schema is at the head: an upgrade that
stops at this revision leaves it empty. A downgrade keeps the rows that hold now.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import oppflow.models.base

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "closed_deals"
PERIOD = "ix_closed_deals_period"
CALIBRATION = "ix_closed_deals_calibration"
DEAL = ["won", "cycle_microseconds", "closed_value", "status_reason", "phases_reached"]
OUTLOOK = ["outlook_state", "outlook_probability", "outlook_process_key", "outlook_stage"]
# The columns of revision 0016, and where a downgrade keeps them meanwhile.
KEPT = ["opportunity_id", "born_at", "closed_at", "actual_close_date", *DEAL, *OUTLOOK]
HELD = "closed_deals_held"
OPEN_END = 2**63 - 1


def upgrade() -> None:
    _drop()
    _create(in_time=True)
    op.create_index(
        PERIOD, TABLE, ["actual_close_date", "to_us", "from_us", *DEAL, "opportunity_id"]
    )
    op.create_index(CALIBRATION, TABLE, ["to_us", "won", "phases_reached", *OUTLOOK, "from_us"])


def downgrade() -> None:
    # The rows that hold now are those of revision 0016, which nothing would fill again.
    kept = ", ".join(KEPT)
    holding = f"SELECT {kept} FROM {TABLE} WHERE to_us = {OPEN_END}"
    op.execute(sa.text(f"CREATE TABLE {HELD} AS {holding}"))
    _drop()
    _create(in_time=False)
    op.execute(sa.text(f"INSERT INTO {TABLE} ({kept}) SELECT {kept} FROM {HELD}"))
    op.drop_table(HELD)
    op.create_index(PERIOD, TABLE, ["actual_close_date", *DEAL, "opportunity_id"])
    op.create_index(CALIBRATION, TABLE, ["won", "phases_reached", *OUTLOOK])


def _drop() -> None:
    op.drop_index(CALIBRATION, table_name=TABLE)
    op.drop_index(PERIOD, table_name=TABLE)
    op.drop_table(TABLE)


def _create(*, in_time: bool) -> None:
    """The table of revision 0016, or of this one (``in_time``): keyed by the deal and the
    instant its row begins, with when it ends, the owner and the process."""
    stretch = [
        sa.Column("from_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("to_us", sa.BigInteger(), nullable=False),
    ]
    filters = [
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("process_key", sa.String(length=64), nullable=True),
    ]
    key = ["opportunity_id", "from_us"] if in_time else ["opportunity_id"]
    op.create_table(
        TABLE,
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        *(stretch if in_time else []),
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
        *(filters if in_time else []),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_closed_deals_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_closed_deals")),
    )
