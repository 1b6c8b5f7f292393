"""On SQLite, the spans are kept in the order of their key (a ``WITHOUT ROWID`` table), so that
an opportunity's spans lie together and the span holding an instant is read with its key, not
through the key's index and then the table row of each span it passes (issue 9). The rows are
copied over; on PostgreSQL nothing changes.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 01:20:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "opportunity_spans"
MADE = "opportunity_spans_remade"
INDEXES = (
    (
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
            "state",
        ],
        "open",
    ),
    (
        "ix_opportunity_spans_won",
        [
            "to_us",
            "from_us",
            "actual_close_date",
            "actual_value",
            "estimated_value",
            "owner_id",
            "process_key",
            "state",
        ],
        "won",
    ),
)


def upgrade() -> None:
    _remake(with_rowid=False)


def downgrade() -> None:
    _remake(with_rowid=True)


def _remake(*, with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    columns = _columns()
    op.create_table(
        MADE,
        *columns,
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name="fk_opportunity_spans_opportunity_id_opportunities",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", "from_us", name="pk_opportunity_spans"),
        sqlite_with_rowid=with_rowid,
    )
    names = ", ".join(column.name for column in columns)
    # In the key's order: the B-tree fills page after page.
    copied = f"SELECT {names} FROM {TABLE} ORDER BY opportunity_id, from_us"
    op.execute(sa.text(f"INSERT INTO {MADE} ({names}) {copied}"))
    op.drop_table(TABLE)
    op.rename_table(MADE, TABLE)
    for name, indexed, state in INDEXES:
        where = sa.text(f"state = '{state}'")
        op.create_index(name, TABLE, indexed, sqlite_where=where, postgresql_where=where)


def _columns() -> list[sa.Column[Any]]:
    texts = {
        "state": 16,
        "pipeline_phase": 40,
        "process_key": 64,
        "active_stage": 64,
        "estimated_value": 40,
        "probability": 8,
        "estimated_close_date": 10,
        "owner_id": 36,
        "forecast_category": 16,
        "actual_close_date": 10,
        "actual_value": 40,
    }
    return [
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("from_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("to_us", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.String(length=size), nullable=True) for name, size in texts.items()),
    ]
