"""The spans keep the forecast's fields: its category, the actual close date and value
(issue 9, decision 0037). The spans are emptied here and rebuilt from the change log by
``oppflow.migrate.upgrade`` once the schema is at the head: an upgrade that stops at this
revision leaves them empty.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "opportunity_spans"
OPEN = "ix_opportunity_spans_open"
OPEN_COLUMNS = [
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
]
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
)


def _columns() -> list[sa.Column[str]]:
    return [
        sa.Column("forecast_category", sa.String(length=16), nullable=True),
        sa.Column("actual_close_date", sa.String(length=10), nullable=True),
        sa.Column("actual_value", sa.String(length=40), nullable=True),
    ]


def _partial(name: str, columns: list[str], state: str) -> None:
    where = sa.text(f"state = '{state}'")
    op.create_index(name, TABLE, columns, sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    # The spans are rebuilt from the log once the schema is at the head (oppflow.migrate):
    # emptied first, so that the indexes are built over no rows.
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(sa.text(f"{'TRUNCATE' if postgresql else 'DELETE FROM'} {TABLE}"))
    for column in _columns():
        op.add_column(TABLE, column)
    op.drop_index(OPEN, table_name=TABLE)
    _partial(OPEN, [*OPEN_COLUMNS, "forecast_category"], "open")
    _partial(*WON, "won")


def downgrade() -> None:
    op.drop_index(WON[0], table_name=TABLE)
    op.drop_index(OPEN, table_name=TABLE)
    _partial(OPEN, OPEN_COLUMNS, "open")
    with op.batch_alter_table(TABLE) as batch:
        for column in _columns():
            batch.drop_column(column.name)
