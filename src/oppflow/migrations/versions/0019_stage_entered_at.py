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
# Only the open records, with what the stale report of now reads of each (its stage, entry,
# last change, and its owner and unit for row-level security): read from the index alone.
# Partial, so that no other query prefers it to the indexes made for them (a wider index on
# every state was chosen for the closed deals' row-level security, and slowed it); led by
# the state all its rows share, so that SQLite, without statistics, prefers it for the stale
# report to the list's (state, modified_at, id), which does not cover it.
OPEN = "state = 'open'"
STALE = (
    "ix_opportunities_open_stale",
    [
        "state",
        "modified_at",
        "id",
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
    create_index_online(STALE[0], TABLE, STALE[1], where=OPEN)


def downgrade() -> None:
    drop_index_online(STALE[0], TABLE)
    op.drop_column(TABLE, "stage_entered_at")
