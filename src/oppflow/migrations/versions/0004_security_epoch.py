"""The security epoch: one counter that every change to users, roles, privileges, teams,
memberships and business units increments, so that each server process knows when the actors
it has cached are stale

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    epoch = op.create_table(
        "security_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_epoch")),
    )
    op.bulk_insert(epoch, [{"id": 1, "value": 1}])


def downgrade() -> None:
    op.drop_table("security_epoch")
