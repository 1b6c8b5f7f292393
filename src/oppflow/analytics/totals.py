"""The maintained pipeline totals: kept exact in the same transaction as every change.

A ``before_flush`` hook reads, for each opportunity created, changed or deleted, what it
contributed to the open pipeline before the flush and what it contributes after; an
``after_flush`` hook applies the differences to the affected :class:`PipelineTotal` rows,
locked in a fixed order (no deadlock between two writers) and summed as Decimals. Writers that
bypass the ORM (the bulk demo generator) call :func:`rebuild` when they are done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oppflow.models import Opportunity, PipelineTotal

KEY_FIELDS = (
    "owner_id",
    "owning_business_unit_id",
    "process_key",
    "active_stage",
    "pipeline_phase",
)
_PENDING = "pipeline_totals_pending"


@dataclass(frozen=True)
class Contribution:
    key: tuple[Any, ...]
    count: int
    value: Decimal
    probable: Decimal
    unweighted: Decimal

    def negated(self) -> Contribution:
        return Contribution(self.key, -self.count, -self.value, -self.probable, -self.unweighted)


def contribution(values: dict[str, Any]) -> Contribution | None:
    """What an opportunity with these values adds to the open pipeline (None when closed)."""
    if values.get("state") != "open" or values.get("owner_id") is None:
        return None
    value = Decimal(values.get("estimated_value") or 0)
    probability = values.get("probability")
    return Contribution(
        key=tuple(values.get(field) for field in KEY_FIELDS),
        count=1,
        value=value,
        probable=value * probability if probability is not None else Decimal(0),
        unweighted=value if probability is None else Decimal(0),
    )


def bucket(key: tuple[Any, ...]) -> str:
    return "|".join("" if part is None else str(part) for part in key)


FIELDS = (*KEY_FIELDS, "state", "estimated_value", "probability")


def _values(opportunity: Opportunity, *, before: bool) -> dict[str, Any]:
    state = inspect(opportunity)
    found: dict[str, Any] = {}
    for field in FIELDS:
        history = state.attrs[field].history
        if before and history.has_changes():
            found[field] = history.deleted[0] if history.deleted else None
        else:
            found[field] = getattr(opportunity, field)
    return found


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    changes: list[Contribution] = []
    for obj in session.new:
        if isinstance(obj, Opportunity):
            changes += _present(contribution(_values(obj, before=False)))
    for obj in session.dirty:
        if isinstance(obj, Opportunity) and session.is_modified(obj):
            changes += _negated(contribution(_values(obj, before=True)))
            changes += _present(contribution(_values(obj, before=False)))
    for obj in session.deleted:
        if isinstance(obj, Opportunity):
            changes += _negated(contribution(_values(obj, before=True)))
    session.info[_PENDING] = changes


def _present(found: Contribution | None) -> list[Contribution]:
    return [found] if found is not None else []


def _negated(found: Contribution | None) -> list[Contribution]:
    return [found.negated()] if found is not None else []


def _after_flush(session: Session, _flush_context: Any) -> None:
    pending: list[Contribution] = session.info.pop(_PENDING, None) or []
    summed = _summed(pending)
    if summed:
        apply(session, summed)


def _summed(changes: Iterable[Contribution]) -> dict[tuple[Any, ...], Contribution]:
    found: dict[tuple[Any, ...], list[Any]] = defaultdict(
        lambda: [0, Decimal(0), Decimal(0), Decimal(0)]
    )
    for change in changes:
        total = found[change.key]
        total[0] += change.count
        total[1] += change.value
        total[2] += change.probable
        total[3] += change.unweighted
    return {
        key: Contribution(key, *total) for key, total in found.items() if total[0] or any(total[1:])
    }


def apply(session: Session, changes: dict[tuple[Any, ...], Contribution]) -> None:
    """Add ``changes`` to their totals: rows created if missing, then locked in bucket order
    and updated with exact sums."""
    by_bucket = {bucket(key): change for key, change in changes.items()}
    _ensure_rows(session, by_bucket)
    locked = (
        select(PipelineTotal)
        .where(PipelineTotal.bucket.in_(sorted(by_bucket)))
        .order_by(PipelineTotal.bucket)
        .with_for_update()
    )
    connection = session.connection()
    for row in connection.execute(locked).mappings():
        change = by_bucket[row["bucket"]]
        connection.execute(
            update(PipelineTotal)
            .where(PipelineTotal.bucket == row["bucket"])
            .values(
                open_count=row["open_count"] + change.count,
                value_sum=_add(row["value_sum"], change.value),
                probable_sum=_add(row["probable_sum"], change.probable),
                unweighted_sum=_add(row["unweighted_sum"], change.unweighted),
            )
        )


def _add(text: str, amount: Decimal) -> str:
    return format((Decimal(text) + amount).normalize(), "f")


def _ensure_rows(session: Session, by_bucket: dict[str, Contribution]) -> None:
    connection = session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    rows = [
        {"bucket": name, **dict(zip(KEY_FIELDS, change.key, strict=True))}
        for name, change in by_bucket.items()
    ]
    statement = dialect.insert(PipelineTotal).on_conflict_do_nothing(index_elements=["bucket"])
    connection.execute(statement, rows)


def rebuild(session: Session) -> None:
    """Recompute every total from the opportunities themselves (after a bulk load)."""
    session.execute(delete(PipelineTotal))
    query = select(*(getattr(Opportunity, f) for f in FIELDS)).where(Opportunity.state == "open")
    changes: list[Contribution] = []
    for row in session.execute(query, execution_options={"yield_per": 50_000}):
        found = contribution(dict(zip(FIELDS, row, strict=True)))
        if found is not None:
            changes.append(found)
        if len(changes) >= 200_000:
            apply(session, _summed(changes))
            changes = []
    if changes:
        apply(session, _summed(changes))


def install() -> None:
    """Hook the totals into every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
