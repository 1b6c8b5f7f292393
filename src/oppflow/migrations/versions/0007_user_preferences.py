"""Pickers' prefix-search indexes (lower(name) and friends); users' time zone and language;
saved views of the opportunity list

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import oppflow.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOWER_INDEXES = (
    ("ix_accounts_name_lower", "accounts", "name"),
    ("ix_contacts_last_name_lower", "contacts", "last_name"),
    ("ix_contacts_first_name_lower", "contacts", "first_name"),
    ("ix_contacts_email_lower", "contacts", "email"),
    ("ix_competitors_name_lower", "competitors", "name"),
)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_views_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_views_user_id_name")),
    )
    # text_pattern_ops lets PostgreSQL answer LIKE 'abc%' from the index under any collation.
    ops = " text_pattern_ops" if op.get_bind().dialect.name == "postgresql" else ""
    for name, table, column in LOWER_INDEXES:
        op.create_index(name, table, [sa.text(f"lower({column}){ops}")])


def downgrade() -> None:
    for name, table, _ in reversed(LOWER_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("saved_views")
    # Not in batch mode: on SQLite it would copy and drop ``users``, which the rows that refer
    # to it forbid; SQLite 3.35+ drops a plain column in place.
    op.drop_column("users", "language")
    op.drop_column("users", "time_zone")
