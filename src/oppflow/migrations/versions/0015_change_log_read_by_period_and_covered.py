"""The change log read by period and without table lookups (issue 9, decision 0025)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:00:00
"""

from collections.abc import Sequence

from oppflow.migrate import create_index_online, drop_index_online

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "opportunity_changes"
# The per-field index, extended to hold every column a report streams: an opportunity's rows
# of the fields a report reads come from the index alone, in (field, effective_at, seq) order.
OLD = ("ix_opportunity_changes_field", ["opportunity_id", "field", "effective_at"])
COVERING = (
    "ix_opportunity_changes_covering",
    ["opportunity_id", "field", "effective_at", "seq", "new_value", "recorded_at"],
)
# The rows of one field in a period, and their opportunities: a report over a period starts
# from what changed in it rather than testing every opportunity.
PERIOD = ("ix_opportunity_changes_period", ["field", "effective_at", "opportunity_id"])


def upgrade() -> None:
    for name, columns in (COVERING, PERIOD):
        create_index_online(name, TABLE, columns)
    drop_index_online(OLD[0], TABLE)


def downgrade() -> None:
    create_index_online(OLD[0], TABLE, OLD[1])
    for name, _ in (COVERING, PERIOD):
        drop_index_online(name, TABLE)
