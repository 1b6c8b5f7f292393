"""The change log of opportunities (ANALYTICS.md §1), backfilled from the audit log; the
maintained totals of the open pipeline, computed from the opportunities

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:40:00
"""

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

import oppflow.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported) so this migration means the same thing forever.
TRACKED_FIELDS = (
    "process_key",
    "active_stage",
    "pipeline_phase",
    "state",
    "status_reason",
    "owner_id",
    "estimated_value",
    "estimated_close_date",
    "probability",
    "forecast_category",
    "actual_value",
    "actual_close_date",
)
MONEY_FIELDS = ("estimated_value", "actual_value")
# Column defaults that audit rows of creations written before this revision leave out.
BIRTH_DEFAULTS = {"state": "open", "status_reason": "in_progress", "forecast_category": "pipeline"}


def upgrade() -> None:
    changes = op.create_table(
        "opportunity_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=24), nullable=False),
        sa.Column("old_value", sa.String(length=64), nullable=True),
        sa.Column("new_value", sa.String(length=64), nullable=True),
        sa.Column("effective_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", oppflow.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_changes_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_opportunity_changes")),
    )
    op.create_index(
        "ix_opportunity_changes_timeline",
        "opportunity_changes",
        ["opportunity_id", "effective_at", "seq"],
    )
    op.create_index(
        "ix_opportunity_changes_field",
        "opportunity_changes",
        ["opportunity_id", "field", "effective_at"],
    )
    _backfill(changes)
    totals = op.create_table(
        "pipeline_totals",
        sa.Column("bucket", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("owning_business_unit_id", sa.Uuid(), nullable=True),
        sa.Column("process_key", sa.String(length=64), nullable=True),
        sa.Column("active_stage", sa.String(length=64), nullable=True),
        sa.Column("pipeline_phase", sa.String(length=40), nullable=True),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.String(length=48), nullable=False),
        sa.Column("probable_sum", sa.String(length=48), nullable=False),
        sa.Column("unweighted_sum", sa.String(length=48), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_pipeline_totals")),
    )
    op.create_index(op.f("ix_pipeline_totals_owner_id"), "pipeline_totals", ["owner_id"])
    op.create_index(
        op.f("ix_pipeline_totals_owning_business_unit_id"),
        "pipeline_totals",
        ["owning_business_unit_id"],
    )
    forecast = op.create_table(
        "forecast_totals",
        sa.Column("bucket", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("owning_business_unit_id", sa.Uuid(), nullable=True),
        sa.Column("process_key", sa.String(length=64), nullable=True),
        sa.Column("active_stage", sa.String(length=64), nullable=True),
        sa.Column("forecast_category", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.String(length=48), nullable=False),
        sa.Column("probable_sum", sa.String(length=48), nullable=False),
        sa.Column("unweighted_sum", sa.String(length=48), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_forecast_totals")),
    )
    op.create_index(op.f("ix_forecast_totals_owner_id"), "forecast_totals", ["owner_id"])
    op.create_index(
        op.f("ix_forecast_totals_owning_business_unit_id"),
        "forecast_totals",
        ["owning_business_unit_id"],
    )
    _sum_totals(totals, forecast)
    _create_total_deltas()
    op.drop_index("ix_opportunities_state_phase", table_name="opportunities")
    op.create_index(
        "ix_opportunities_state_phase_close",
        "opportunities",
        ["state", "pipeline_phase", "estimated_close_date"],
    )
    op.create_index(
        "ix_opportunities_state_closed_on", "opportunities", ["state", "actual_close_date"]
    )


def _create_total_deltas() -> None:
    op.create_table(
        "total_deltas",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("summary", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("owning_business_unit_id", sa.Uuid(), nullable=True),
        sa.Column("process_key", sa.String(length=64), nullable=True),
        sa.Column("active_stage", sa.String(length=64), nullable=True),
        sa.Column("pipeline_phase", sa.String(length=40), nullable=True),
        sa.Column("forecast_category", sa.String(length=16), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.String(length=48), nullable=False),
        sa.Column("probable_sum", sa.String(length=48), nullable=False),
        sa.Column("unweighted_sum", sa.String(length=48), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_total_deltas")),
    )


OWNERSHIP = ("owner_id", "owning_business_unit_id", "process_key", "active_stage")
READ: dict[str, Any] = {
    "owner_id": sa.Uuid(),
    "owning_business_unit_id": sa.Uuid(),
    "process_key": sa.String(),
    "active_stage": sa.String(),
    "pipeline_phase": sa.String(),
    "state": sa.String(),
    "forecast_category": sa.String(),
    "estimated_value": sa.Numeric(19, 4),
    "actual_value": sa.Numeric(19, 4),
    "probability": sa.Integer(),
    "estimated_close_date": sa.Date(),
    "actual_close_date": sa.Date(),
}


def _sum_totals(pipeline: sa.Table, forecast: sa.Table) -> None:
    """The open pipeline and the forecast per owner, unit, process and stage (and phase, or
    category and close month), summed exactly in Python from the opportunities."""
    columns = [sa.column(name, kind) for name, kind in READ.items()]
    query = sa.select(*columns).select_from(sa.table("opportunities"))
    sums: dict[str, dict[tuple[Any, ...], list[Any]]] = {"pipeline": {}, "forecast": {}}
    for row in op.get_bind().execute(query.where(sa.column("state").in_(("open", "won")))):
        ownership = tuple(getattr(row, name) for name in OWNERSHIP)
        won = row.state == "won"
        value = Decimal(str((row.actual_value if won else None) or row.estimated_value or 0))
        if not won:
            _add(sums["pipeline"], (*ownership, row.pipeline_phase), value, row.probability)
        day = row.actual_close_date if won else row.estimated_close_date
        category = "won" if won else row.forecast_category or "pipeline"
        month = day.strftime("%Y-%m") if day else "none"
        _add(sums["forecast"], (*ownership, category, month), value, row.probability)
    _insert(pipeline, (*OWNERSHIP, "pipeline_phase"), sums["pipeline"])
    _insert(forecast, (*OWNERSHIP, "forecast_category", "month"), sums["forecast"])


def _add(
    sums: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], value: Decimal, p: int | None
) -> None:
    total = sums.setdefault(key, [0, Decimal(0), Decimal(0), Decimal(0)])
    total[0] += 1
    total[1] += value
    if p is None:
        total[3] += value
    else:
        total[2] += value * p


def _insert(table: sa.Table, keys: tuple[str, ...], sums: dict[tuple[Any, ...], list[Any]]) -> None:
    amounts = ("value_sum", "probable_sum", "unweighted_sum")
    rows = [
        {
            "bucket": "|".join("" if part is None else str(part) for part in key),
            **dict(zip(keys, key, strict=True)),
            "open_count": total[0],
            **{k: format(v.normalize(), "f") for k, v in zip(amounts, total[1:], strict=True)},
        }
        for key, total in sums.items()
    ]
    if rows:
        op.get_bind().execute(table.insert(), rows)


def _backfill(changes: sa.Table) -> None:
    """Every tracked field of every audit row about an opportunity that still exists, in the
    order the audit log wrote them: the creation gives the first values, each update the
    changes, each dated when it was audited."""
    bind = op.get_bind()
    audit = sa.table(
        "audit_log",
        sa.column("seq", sa.Integer),
        sa.column("at", oppflow.models.base.UTCDateTime(timezone=True)),
        sa.column("actor_id", sa.Uuid),
        sa.column("action", sa.String),
        sa.column("table_name", sa.String),
        sa.column("record_id", sa.Uuid),
        sa.column("changes", sa.JSON),
    )
    alive = sa.select(sa.table("opportunities", sa.column("id", sa.Uuid)).c.id)
    query = (
        sa.select(audit.c.record_id, audit.c.at, audit.c.actor_id, audit.c.changes)
        .where(
            audit.c.table_name == "opportunities",
            audit.c.action != "delete",
            audit.c.record_id.in_(alive),
        )
        .order_by(audit.c.seq)
    )
    batch: list[dict[str, Any]] = []
    born: set[Any] = set()
    for row in bind.execute(query):
        audited = dict(row.changes or {})
        if row.record_id not in born:
            born.add(row.record_id)
            for field, value in BIRTH_DEFAULTS.items():
                audited.setdefault(field, [None, value])
        batch.extend(_rows_of(row.record_id, row.at, row.actor_id, audited))
        if len(batch) >= 5000:
            bind.execute(changes.insert(), batch)
            batch = []
    if batch:
        bind.execute(changes.insert(), batch)


def _rows_of(
    opportunity_id: Any, at: Any, actor_id: Any, audited: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    for field in TRACKED_FIELDS:
        pair = audited.get(field)
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        old, new = (_text(field, value) for value in pair)
        if old != new:
            yield {
                "opportunity_id": opportunity_id,
                "field": field,
                "old_value": old,
                "new_value": new,
                "effective_at": at,
                "recorded_at": at,
                "actor_id": actor_id,
            }


def _text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if field in MONEY_FIELDS:
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def downgrade() -> None:
    op.drop_table("total_deltas")
    op.drop_index(op.f("ix_forecast_totals_owning_business_unit_id"), table_name="forecast_totals")
    op.drop_index(op.f("ix_forecast_totals_owner_id"), table_name="forecast_totals")
    op.drop_table("forecast_totals")
    op.drop_index("ix_opportunities_state_closed_on", table_name="opportunities")
    op.drop_index("ix_opportunities_state_phase_close", table_name="opportunities")
    op.create_index("ix_opportunities_state_phase", "opportunities", ["state", "pipeline_phase"])
    op.drop_index(op.f("ix_pipeline_totals_owning_business_unit_id"), table_name="pipeline_totals")
    op.drop_index(op.f("ix_pipeline_totals_owner_id"), table_name="pipeline_totals")
    op.drop_table("pipeline_totals")
    op.drop_index("ix_opportunity_changes_field", table_name="opportunity_changes")
    op.drop_index("ix_opportunity_changes_timeline", table_name="opportunity_changes")
    op.drop_table("opportunity_changes")
