"""A unit's opportunity ids from one index, for row-level security over the summaries (issue 9,
decision 0036)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

from oppflow.migrate import create_index_online, drop_index_online

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("ix_opportunities_owning_business_unit_id", ["owning_business_unit_id"])
NEW = ("ix_opportunities_unit_id", ["owning_business_unit_id", "id"])


def upgrade() -> None:
    create_index_online(NEW[0], "opportunities", NEW[1])
    drop_index_online(OLD[0], "opportunities")


def downgrade() -> None:
    create_index_online(OLD[0], "opportunities", OLD[1])
    drop_index_online(NEW[0], "opportunities")
