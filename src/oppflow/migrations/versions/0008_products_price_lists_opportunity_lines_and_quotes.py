"""Products, price lists, opportunity lines and quotes (issue 10)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import oppflow.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("begins_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_price_lists_name")),
    )
    op.create_table(
        "product_families",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["product_families.id"],
            name=op.f("fk_product_families_parent_id_product_families"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_families")),
        sa.UniqueConstraint("name", name=op.f("uq_product_families_name")),
    )
    op.create_table(
        "unit_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_unit_groups_name")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_units_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["unit_groups.id"],
            name=op.f("fk_units_group_id_unit_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("group_id", "name", name=op.f("uq_units_group_id_name")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_group_id"), ["group_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("product_number", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("family_id", sa.Uuid(), nullable=True),
        sa.Column("unit_group_id", sa.Uuid(), nullable=False),
        sa.Column("default_unit_id", sa.Uuid(), nullable=False),
        sa.Column("default_price_list_id", sa.Uuid(), nullable=True),
        sa.Column("list_price", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("standard_cost", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('active', 'retired')", name=op.f("ck_products_state")),
        sa.ForeignKeyConstraint(
            ["default_price_list_id"],
            ["price_lists.id"],
            name=op.f("fk_products_default_price_list_id_price_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["default_unit_id"], ["units.id"], name=op.f("fk_products_default_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["product_families.id"],
            name=op.f("fk_products_family_id_product_families"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_group_id"],
            ["unit_groups.id"],
            name=op.f("fk_products_unit_group_id_unit_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("product_number", name=op.f("uq_products_product_number")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_family_id"), ["family_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_products_unit_group_id"), ["unit_group_id"], unique=False
        )

    op.create_table(
        "price_list_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("price_list_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("pricing_method", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("percentage", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("rounding", sa.String(length=8), nullable=False),
        sa.Column("rounding_amount", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("volume_discounts", sa.JSON(), nullable=False),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["price_lists.id"],
            name=op.f("fk_price_list_items_price_list_id_price_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_price_list_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_price_list_items_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_list_items")),
        sa.UniqueConstraint(
            "price_list_id",
            "product_id",
            "unit_id",
            name=op.f("uq_price_list_items_price_list_id_product_id_unit_id"),
        ),
    )
    with op.batch_alter_table("price_list_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_price_list_items_price_list_id"), ["price_list_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_price_list_items_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "opportunity_lines",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("write_in_name", sa.String(length=300), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("price_per_unit", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("is_price_overridden", sa.Boolean(), nullable=False),
        sa.Column("volume_discount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("manual_discount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("tax", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("extended_amount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_lines_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_opportunity_lines_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_opportunity_lines_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_lines")),
        sa.UniqueConstraint(
            "opportunity_id",
            "line_number",
            name=op.f("uq_opportunity_lines_opportunity_id_line_number"),
        ),
    )
    with op.batch_alter_table("opportunity_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunity_lines_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_opportunity_lines_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("price_list_id", sa.Uuid(), nullable=True),
        sa.Column("revised_from_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("total_line_amount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("total_discount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("total_tax", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("activated_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_to", sa.String(length=254), nullable=True),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'active', 'won', 'closed')", name=op.f("ck_quotes_state")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_quotes_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_quotes_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_quotes_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["price_list_id"], ["price_lists.id"], name=op.f("fk_quotes_price_list_id_price_lists")
        ),
        sa.ForeignKeyConstraint(
            ["revised_from_id"], ["quotes.id"], name=op.f("fk_quotes_revised_from_id_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint(
            "number", "revision_number", name=op.f("uq_quotes_number_revision_number")
        ),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quotes_opportunity_id"), ["opportunity_id"], unique=False
        )

    op.create_table(
        "quote_lines",
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("write_in_name", sa.String(length=300), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("price_per_unit", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("is_price_overridden", sa.Boolean(), nullable=False),
        sa.Column("volume_discount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("manual_discount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("tax", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("extended_amount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("modified_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_quote_lines_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_quote_lines_quote_id_quotes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_quote_lines_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_lines")),
        sa.UniqueConstraint(
            "quote_id", "line_number", name=op.f("uq_quote_lines_quote_id_line_number")
        ),
    )
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_lines_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quote_lines_quote_id"), ["quote_id"], unique=False)

    # Not in batch mode, which on SQLite could copy and drop ``opportunities`` and so empty
    # the tables that cascade from it; a plain column is added in place.
    op.add_column("opportunities", sa.Column("price_list_id", sa.Uuid(), nullable=True))
    op.add_column(
        "opportunities",
        sa.Column(
            "is_revenue_system_calculated", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    # text_pattern_ops lets PostgreSQL answer LIKE 'abc%' from the index under any collation.
    ops = " text_pattern_ops" if op.get_bind().dialect.name == "postgresql" else ""
    op.create_index("ix_products_name_lower", "products", [sa.text(f"lower(name){ops}")])


def downgrade() -> None:
    # Not in batch mode: on SQLite it would copy and drop ``opportunities``, which the rows
    # that refer to it forbid; SQLite 3.35+ drops a plain column in place.
    op.drop_column("opportunities", "is_revenue_system_calculated")
    op.drop_column("opportunities", "price_list_id")
    op.drop_index("ix_products_name_lower", table_name="products")
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_lines_quote_id"))
        batch_op.drop_index(batch_op.f("ix_quote_lines_product_id"))

    op.drop_table("quote_lines")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_opportunity_id"))

    op.drop_table("quotes")
    with op.batch_alter_table("opportunity_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_lines_product_id"))
        batch_op.drop_index(batch_op.f("ix_opportunity_lines_opportunity_id"))

    op.drop_table("opportunity_lines")
    with op.batch_alter_table("price_list_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_list_items_product_id"))
        batch_op.drop_index(batch_op.f("ix_price_list_items_price_list_id"))

    op.drop_table("price_list_items")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_unit_group_id"))
        batch_op.drop_index(batch_op.f("ix_products_family_id"))

    op.drop_table("products")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_group_id"))

    op.drop_table("units")
    op.drop_table("unit_groups")
    op.drop_table("product_families")
    op.drop_table("price_lists")
