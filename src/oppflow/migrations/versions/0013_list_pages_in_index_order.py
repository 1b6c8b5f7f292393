"""The list pages in index order at size (issue 14)

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


# name → (table, columns): a page of one state in the list's order, read in index order and
# stopping at the page, where every row of that state was sorted (opportunities by close
# date) or every lead was scanned for the few open ones (leads by creation).
INDEXES = {
    "ix_opportunities_state_close_id": ("opportunities", ["state", "estimated_close_date", "id"]),
    "ix_leads_state_created_at_id": ("leads", ["state", "created_at", "id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
