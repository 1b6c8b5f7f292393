"""The maintained totals: kept exact in the same transaction as every change.

A ``before_flush`` hook reads, for each opportunity created, changed or deleted, what it
contributed to each summary before the flush and what it contributes after; an ``after_flush``
hook appends the differences to ``total_deltas`` in one INSERT. Writers never lock a total, so
a team moving deals in the same stage do not queue behind each other's rows. Once a process's
writers have appended :data:`FOLD_ROWS` deltas, the committing writer first folds the oldest
deltas into their totals (:func:`fold`: rows locked in a fixed order, summed as Decimals kept
as text, since SQLite has no exact decimal arithmetic). Readers add the unfolded deltas to the
totals in the same statement, so what they read is exact whether or not a fold has run.
Writers that bypass the ORM (the bulk demo generator) call :func:`rebuild` when they are done.

Two summaries: :data:`PIPELINE` (the open pipeline per owner, unit, process, stage and phase:
the funnel of now) and :data:`FORECAST` (open and won value per owner, unit, process, stage,
forecast category and close month: the forecast of now).
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oppflow.models import ForecastTotal, Opportunity, PipelineTotal, TotalDelta
from oppflow.models.base import set_since_load

OWNERSHIP = ("owner_id", "owning_business_unit_id", "process_key", "active_stage")
FIELDS = (
    *OWNERSHIP,
    "pipeline_phase",
    "state",
    "estimated_value",
    "probability",
    "forecast_category",
    "estimated_close_date",
    "actual_value",
    "actual_close_date",
)
NO_DATE = "none"
# Folding costs a committing writer a few statements. Counting the rows appended, not the
# commits, keeps the deltas a reader adds to a few hundred even after transactions that append
# thousands (a stage move appends up to four rows, a batch of a hundred creates hundreds).
FOLD_ROWS = 128
FOLD_BATCH = 5_000
_PENDING = "totals_pending"
_APPENDED = "totals_appended"
_FOLDING = "totals_folding"


class _Owed:
    """The deltas this process appended since it last folded. A process starts part-way to
    its first fold, at random, so that short-lived ones (each CLI command is one) fold their
    share in expectation instead of never reaching the threshold."""

    def __init__(self) -> None:
        self.rows = random.random() * FOLD_ROWS
        self.lock = threading.Lock()

    def add(self, rows: int) -> int:
        """Count ``rows`` more; the rows owed if that reaches a fold (the count then starts
        over), else 0."""
        with self.lock:
            self.rows += rows
            if not rows or self.rows < FOLD_ROWS:
                return 0
            owed, self.rows = self.rows, 0.0
            return int(owed)

    def give_back(self, rows: int) -> None:
        """``rows`` a fold took on and did not commit: owed again."""
        with self.lock:
            self.rows += rows


_owed = _Owed()


@dataclass(frozen=True)
class Contribution:
    key: tuple[Any, ...]
    count: int
    value: Decimal
    probable: Decimal
    unweighted: Decimal

    def negated(self) -> Contribution:
        return Contribution(self.key, -self.count, -self.value, -self.probable, -self.unweighted)

    def field(self, summary: Summary, name: str) -> Any:
        return self.key[summary.key_fields.index(name)]


@dataclass(frozen=True)
class Summary:
    name: str
    model: type[Any]
    key_fields: tuple[str, ...]
    key_of: Callable[[dict[str, Any]], tuple[Any, ...] | None]
    value_of: Callable[[dict[str, Any]], Decimal]
    states: tuple[str, ...]


def _pipeline_key(values: dict[str, Any]) -> tuple[Any, ...] | None:
    if values.get("state") != "open":
        return None
    return (*(values.get(f) for f in OWNERSHIP), values.get("pipeline_phase"))


def _forecast_key(values: dict[str, Any]) -> tuple[Any, ...] | None:
    state = values.get("state")
    if state not in ("open", "won"):
        return None
    won = state == "won"
    day: date | None = values.get("actual_close_date" if won else "estimated_close_date")
    category = "won" if won else values.get("forecast_category") or "pipeline"
    month = day.strftime("%Y-%m") if day else NO_DATE
    return (*(values.get(f) for f in OWNERSHIP), category, month)


def _estimated(values: dict[str, Any]) -> Decimal:
    return Decimal(values.get("estimated_value") or 0)


def _forecast_value(values: dict[str, Any]) -> Decimal:
    if values.get("state") == "won" and values.get("actual_value") is not None:
        return Decimal(values["actual_value"])
    return _estimated(values)


PIPELINE = Summary(
    "pipeline", PipelineTotal, (*OWNERSHIP, "pipeline_phase"), _pipeline_key, _estimated, ("open",)
)
FORECAST = Summary(
    "forecast",
    ForecastTotal,
    (*OWNERSHIP, "forecast_category", "month"),
    _forecast_key,
    _forecast_value,
    ("open", "won"),
)
SUMMARIES = (PIPELINE, FORECAST)
DELTA_KEYS = (*OWNERSHIP, "pipeline_phase", "forecast_category", "month")


def contribution(values: dict[str, Any], summary: Summary = PIPELINE) -> Contribution | None:
    """What an opportunity with these values adds to ``summary`` (None: nothing)."""
    key = summary.key_of(values)
    if key is None or values.get("owner_id") is None:
        return None
    value = summary.value_of(values)
    probability = values.get("probability")
    return Contribution(
        key=key,
        count=1,
        value=value,
        probable=value * probability if probability is not None else Decimal(0),
        unweighted=value if probability is None else Decimal(0),
    )


def bucket(key: tuple[Any, ...]) -> str:
    return "|".join("" if part is None else str(part) for part in key)


def _values(opportunity: Opportunity, *, before: bool) -> dict[str, Any]:
    found = {field: getattr(opportunity, field) for field in FIELDS}
    if before:
        found.update((field, old) for field, old, _ in set_since_load(opportunity, FIELDS))
    return found


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    changes: list[tuple[dict[str, Any], int]] = []
    for obj in session.new:
        if isinstance(obj, Opportunity):
            changes.append((_values(obj, before=False), 1))
    for obj in session.dirty:
        if isinstance(obj, Opportunity) and session.is_modified(obj):
            changes.append((_values(obj, before=True), -1))
            changes.append((_values(obj, before=False), 1))
    for obj in session.deleted:
        if isinstance(obj, Opportunity):
            changes.append((_values(obj, before=True), -1))
    session.info[_PENDING] = changes


def _after_flush(session: Session, _flush_context: Any) -> None:
    pending: list[tuple[dict[str, Any], int]] = session.info.pop(_PENDING, None) or []
    rows = [
        _delta_row(summary, change)
        for summary in SUMMARIES
        for change in _summed(_changes(pending, summary)).values()
    ]
    if rows:
        session.connection().execute(insert(TotalDelta), rows)
        appended(session, len(rows))


def appended(session: Session, rows: int) -> None:
    """Count ``rows`` deltas appended by ``session``'s transaction (bulk writers too)."""
    session.info[_APPENDED] = session.info.get(_APPENDED, 0) + rows


def _changes(pending: list[tuple[dict[str, Any], int]], summary: Summary) -> Iterable[Contribution]:
    for values, sign in pending:
        found = _signed(contribution(values, summary), sign)
        if found is not None:
            yield found


def _delta_row(summary: Summary, change: Contribution) -> dict[str, Any]:
    keys = dict.fromkeys(DELTA_KEYS) | dict(zip(summary.key_fields, change.key, strict=True))
    return {
        "summary": summary.name,
        "bucket": bucket(change.key),
        **keys,
        "open_count": change.count,
        "value_sum": _text(change.value),
        "probable_sum": _text(change.probable),
        "unweighted_sum": _text(change.unweighted),
    }


def _before_commit(session: Session) -> None:
    # A savepoint released is no commit: a fold there would hold the totals' row locks until
    # the enclosing transaction ends (an import's batch, seconds later).
    if session.in_nested_transaction():
        return
    session.flush()  # the commit's own flush would append its deltas after the fold
    owed = _owed.add(session.info.pop(_APPENDED, 0))
    if owed:
        session.info[_FOLDING] = owed
        # At least as many as are owed, in one fold: its totals are locked in bucket order
        # once, where a fold per batch could lock a lower bucket after a higher one.
        fold(session, max(owed, FOLD_BATCH))


def _after_commit(session: Session) -> None:
    session.info.pop(_FOLDING, None)


def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # its deltas are gone, the rest of the transaction's stay counted
    session.info.pop(_APPENDED, None)
    _owed.give_back(session.info.pop(_FOLDING, 0))  # the commit that was to fold failed


def fold(session: Session, limit: int = FOLD_BATCH) -> int:
    """Add the oldest ``limit`` deltas to their totals and delete them; how many were folded.

    On PostgreSQL the deltas are claimed with SKIP LOCKED, so two folding writers take
    disjoint rows; each then locks its totals in bucket order, as :func:`apply` does."""
    connection = session.connection()
    claimed = (
        select(TotalDelta.__table__)
        .order_by(TotalDelta.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    deltas = list(connection.execute(claimed).mappings())
    for summary in SUMMARIES:
        summed = merged((row for row in deltas if row["summary"] == summary.name), summary)
        if summed:
            apply(session, summary, summed)
    if deltas:
        connection.execute(delete(TotalDelta).where(TotalDelta.seq.in_([r["seq"] for r in deltas])))
    return len(deltas)


def merged(rows: Iterable[Any], summary: Summary) -> dict[tuple[Any, ...], Contribution]:
    """Rows of ``summary``'s totals or deltas (mappings), summed per key."""
    return _summed(
        Contribution(
            key=tuple(row[field] for field in summary.key_fields),
            count=row["open_count"],
            value=Decimal(row["value_sum"]),
            probable=Decimal(row["probable_sum"]),
            unweighted=Decimal(row["unweighted_sum"]),
        )
        for row in rows
    )


def _signed(found: Contribution | None, sign: int) -> Contribution | None:
    return found.negated() if found is not None and sign < 0 else found


def _summed(changes: Iterable[Contribution]) -> dict[tuple[Any, ...], Contribution]:
    found: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, *[Decimal(0)] * 3])
    for change in changes:
        total = found[change.key]
        total[0] += change.count
        total[1] += change.value
        total[2] += change.probable
        total[3] += change.unweighted
    return {
        key: Contribution(key, *total) for key, total in found.items() if total[0] or any(total[1:])
    }


def apply(session: Session, summary: Summary, changes: dict[tuple[Any, ...], Contribution]) -> None:
    """Add ``changes`` to their totals: locked in bucket order (rows created first when one
    is missing), then updated with exact sums in one statement."""
    by_bucket = {bucket(key): change for key, change in changes.items()}
    rows = _locked(session, summary, by_bucket)
    if len(rows) < len(by_bucket):
        _ensure_rows(session, summary, by_bucket)
        rows = _locked(session, summary, by_bucket)
    model = summary.model
    statement = (
        update(model)
        .where(model.bucket == bindparam("b_bucket"))
        .values(
            open_count=bindparam("b_count"),
            value_sum=bindparam("b_value"),
            probable_sum=bindparam("b_probable"),
            unweighted_sum=bindparam("b_unweighted"),
        )
    )
    session.connection().execute(statement, [_summed_row(row, by_bucket) for row in rows])


def _locked(session: Session, summary: Summary, by_bucket: dict[str, Contribution]) -> list[Any]:
    model = summary.model
    query = (
        select(model.bucket, model.open_count, model.value_sum)
        .add_columns(model.probable_sum, model.unweighted_sum)
        .where(model.bucket.in_(sorted(by_bucket)))
        .order_by(model.bucket)
        .with_for_update()
    )
    return list(session.connection().execute(query).mappings())


def _summed_row(row: Any, by_bucket: dict[str, Contribution]) -> dict[str, Any]:
    change = by_bucket[row["bucket"]]
    return {
        "b_bucket": row["bucket"],
        "b_count": row["open_count"] + change.count,
        "b_value": _add(row["value_sum"], change.value),
        "b_probable": _add(row["probable_sum"], change.probable),
        "b_unweighted": _add(row["unweighted_sum"], change.unweighted),
    }


def _add(text: str, amount: Decimal) -> str:
    return _text(Decimal(text) + amount)


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def _ensure_rows(session: Session, summary: Summary, by_bucket: dict[str, Contribution]) -> None:
    connection = session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    rows = [
        {"bucket": name, **dict(zip(summary.key_fields, change.key, strict=True))}
        for name, change in by_bucket.items()
    ]
    statement = dialect.insert(summary.model).on_conflict_do_nothing(index_elements=["bucket"])
    connection.execute(statement, rows)


def rebuild(session: Session) -> None:
    """Recompute every total from the opportunities themselves (after a bulk load)."""
    session.execute(delete(TotalDelta))
    for summary in SUMMARIES:
        session.execute(delete(summary.model))
    query = select(*(getattr(Opportunity, f) for f in FIELDS)).where(
        Opportunity.state.in_(("open", "won"))
    )
    batch: list[dict[str, Any]] = []
    for row in session.execute(query, execution_options={"yield_per": 50_000}):
        batch.append(dict(zip(FIELDS, row, strict=True)))
        if len(batch) >= 200_000:
            _apply_all(session, batch)
            batch = []
    _apply_all(session, batch)


def _apply_all(session: Session, batch: list[dict[str, Any]]) -> None:
    for summary in SUMMARIES:
        summed = _summed(c for v in batch if (c := contribution(v, summary)) is not None)
        if summed:
            apply(session, summary, summed)


def install() -> None:
    """Hook the totals into every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
