"""Summary tables for the analytics at size (issue 9)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 11:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


INDEX = "ix_opportunities_state_unit_owner"


def upgrade() -> None:
    # Row-level security by ownership over the open opportunities, read from the index alone.
    op.create_index(INDEX, "opportunities", ["state", "owning_business_unit_id", "owner_id", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="opportunities")
