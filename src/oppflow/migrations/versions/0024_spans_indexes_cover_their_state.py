"""The spans' two partial indexes hold the state they are partial on, so that SQLite reads the
spans holding an instant from the index alone: SQLite 3.40 counts the partial condition's
column among those a covering index must hold, and read each span's table row to test it
(issue 9). PostgreSQL needed no change (since 9.6 an index-only scan does not need the
predicate's columns); the indexes are the same on both.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 01:10:00
"""

from collections.abc import Sequence

from oppflow.migrate import replace_index_online

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "opportunity_spans"
OPEN = (
    "ix_opportunity_spans_open",
    [
        "to_us",
        "from_us",
        "opportunity_id",
        "pipeline_phase",
        "process_key",
        "active_stage",
        "estimated_value",
        "probability",
        "estimated_close_date",
        "owner_id",
        "forecast_category",
    ],
    "open",
)
WON = (
    "ix_opportunity_spans_won",
    [
        "to_us",
        "from_us",
        "actual_close_date",
        "actual_value",
        "estimated_value",
        "owner_id",
        "process_key",
    ],
    "won",
)


def upgrade() -> None:
    for name, columns, state in (OPEN, WON):
        _remake(name, [*columns, "state"], state)


def downgrade() -> None:
    for name, columns, state in (OPEN, WON):
        _remake(name, columns, state)


def _remake(name: str, columns: list[str], state: str) -> None:
    # Online on PostgreSQL: the spans are large and written by every move. The new index is
    # built beside the old one, so that the reports always have one to read.
    replace_index_online(name, TABLE, columns, where=f"state = '{state}'")
