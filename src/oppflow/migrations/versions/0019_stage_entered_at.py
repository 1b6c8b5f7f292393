"""When each opportunity entered its stint, on its record, read by stale of now (issue 9,
decision 0034)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from oppflow.migrate import create_index_online, drop_index_online
from oppflow.models.base import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "opportunities"
OLD = ("ix_opportunities_state_modified_id", ["state", "modified_at", "id"])
# The list's sort by modification keeps its order (state, modified_at, id); the columns after
# it let the stale report of now read every open record from the index alone.
COVERING = (
    "ix_opportunities_state_modified_covering",
    [
        *OLD[1],
        "process_key",
        "active_stage",
        "stage_entered_at",
        "owning_business_unit_id",
        "owner_id",
    ],
)


# Each record's latest change of process, stage or state: what analytics/stage_entries.py
# keeps. Plain SQL, in the migration's transaction: filled whatever revision is asked for,
# before the index is built, and no record's modified_at stamped by it.
FILL = """
UPDATE opportunities SET stage_entered_at = (
    SELECT max(effective_at) FROM opportunity_changes
    WHERE opportunity_changes.opportunity_id = opportunities.id
    AND opportunity_changes.field IN ('process_key', 'active_stage', 'state')
)
"""


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("stage_entered_at", UTCDateTime(timezone=True), nullable=True))
    op.execute(FILL)
    create_index_online(COVERING[0], TABLE, COVERING[1])
    drop_index_online(OLD[0], TABLE)


def downgrade() -> None:
    create_index_online(OLD[0], TABLE, OLD[1])
    drop_index_online(COVERING[0], TABLE)
    op.drop_column(TABLE, "stage_entered_at")
