"""The board's index holds the opportunity's id after its close date (the order of a phase's
cards: close date, then id), then its owning unit and owner (what row-level security tests),
so that the board reads the ids of a phase's first readable cards from the index alone, in
order, and stops, then loads those cards by id. At 1M on PostgreSQL, for a salesperson,
the planner walked the close-date index instead, over the closed deals too (395,000 rows
read and filtered for 40 cards, 0.5-0.7 s a phase, issue 9): with the deals stored in
creation order, the planner assumed the close dates nearly followed the table's order and
the board's conditions were spread evenly along them, whereas the open deals close last
(decision 0049).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 23:10:00
"""

from collections.abc import Sequence

from oppflow.migrate import replace_index_online

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "opportunities"
NAME = "ix_opportunities_state_phase_close"
COLUMNS = ["state", "pipeline_phase", "estimated_close_date"]


def upgrade() -> None:
    # Online: the board reads it on every visit (minutes to build at millions).
    replace_index_online(NAME, TABLE, [*COLUMNS, "id", "owning_business_unit_id", "owner_id"])


def downgrade() -> None:
    replace_index_online(NAME, TABLE, COLUMNS)
