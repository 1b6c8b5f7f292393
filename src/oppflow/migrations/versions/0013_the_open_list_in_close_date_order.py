"""The open opportunities in close-date order, for the list pages at size (issue 14)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


INDEX = "ix_opportunities_state_close_id"


def upgrade() -> None:
    # A list view's page of open (or won, or lost) opportunities by close date, read in index
    # order and stopping at the page, where a sort of every open row was needed.
    op.create_index(INDEX, "opportunities", ["state", "estimated_close_date", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="opportunities")
