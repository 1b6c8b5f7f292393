"""The batch path of opportunity imports: the same rules as the row-by-row path
(:mod:`oppflow.imports.service`), applied to a batch at a time, its rows then loaded with one
executemany per table (SQLite) or COPY (PostgreSQL) instead of one ORM flush per row.

Per batch: one query for the external ids already imported; each row validated by
``OpportunityCreate``; lookups resolved once per distinct value by the same
:class:`~oppflow.imports.lookups.Lookups` (the importer's row-level security); owner, create
privilege and references checked once per distinct owner or reference by the services' own
functions; the stage reached through the pure engine (``engine.start`` then ``next_stage``), so
a gate with empty required steps refuses the row with the row-by-row path's words. The rows
written are those of :mod:`oppflow.imports.bulk_rows`; the maintained totals get the batch's
deltas (incremental, as the flush hook appends them, folded as usual).

Rows that close (state won/lost) or carry a past creation date go through the row-by-row
path, in a savepoint, in the same batch: closing and backdating write more (close records,
quotes, dated change log) than this path mirrors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.analytics import phase_moves, spans, stage_entries, stage_stints, totals
from oppflow.clock import utcnow
from oppflow.demo.loader import load
from oppflow.errors import MoveRefused, OppflowError, StageGateRefused
from oppflow.imports import service
from oppflow.imports.bulk_rows import Placed, Rows, Writer, add, scalar_defaults
from oppflow.imports.lookups import Lookups
from oppflow.imports.mapping import apply_mapping
from oppflow.imports.opportunities import EXTRAS, OUTCOMES, stage_named
from oppflow.imports.report import RowProblem
from oppflow.imports.repository import already_there
from oppflow.imports.rows import RowRefused
from oppflow.imports.service import REFUSALS, Checkpoint, ImportResult
from oppflow.kit import collector
from oppflow.lookup.repository import LookupRepository
from oppflow.models import (
    AuditEntry,
    Event,
    Opportunity,
    OpportunityChange,
    OpportunitySpan,
    PhaseMove,
    ProcessInstance,
    StageHistory,
    StageStint,
    Stakeholder,
    TotalDelta,
)
from oppflow.process import catalog, engine
from oppflow.process.definition import ProcessDefinition
from oppflow.process.fields import STEP_FIELDS
from oppflow.process.repository import ProcessRepository
from oppflow.quotes import revenue
from oppflow.records import owned_values
from oppflow.sales.schemas import OpportunityCreate
from oppflow.sales.service import REFERENCES, check_references
from oppflow.security.actor import Actor
from oppflow.security.scope import require

# Rows per batch (each its own transaction). 2,000 rather than 10,000: the peak resident
# memory of a CLI import fell from 320 MB to 168 MB (SQLite) and 297 to 165 MB (PostgreSQL),
# and the import was no slower (bench/imports.py, 20,000 rows, 2026-12-07).
BATCH_SIZE = 2_000
# A file this large goes the batch path unless told otherwise (about 20,000 opportunities):
# below it the row-by-row path takes seconds anyway.
AUTO_BULK_BYTES = 4 * 1024 * 1024
# SQLite's page cache while a batch is written, in KiB (its default is 2,000): a batch inserts
# into some sixty indexes, and with the default a fifth of its INSERTs' time went to reading
# back pages it had just let go (bench/imports.py, 20,000 rows, 2026-12-08).
BATCH_PAGE_CACHE_KB = 32_768
# Values that close the record: those rows take the row-by-row path.
CLOSING = frozenset(key for key, outcome in OUTCOMES.items() if outcome is not None)

Importer = Callable[..., ImportResult]


def importer_for(table: str, size: int, *, batched: bool | None = None) -> tuple[Importer, int]:
    """The import function for a file of ``size`` bytes of ``table`` rows, and its batch size.

    The batch path takes opportunities when ``batched`` asks for it, or by default when the
    file is :data:`AUTO_BULK_BYTES` or more; everything else goes row by row. Both apply the
    same rules and write the same rows (decision 0019): the choice is one of speed only, and
    the CLI and the import jobs make it here alike. ValueError when ``batched`` asks for the
    batch path for another table.
    """
    if batched and table != "opportunities":
        raise ValueError("the batch path imports opportunities only")
    if batched is None:
        batched = table == "opportunities" and size >= AUTO_BULK_BYTES
    if batched:
        return import_opportunities, BATCH_SIZE
    return _row_by_row(table), service.BATCH_SIZE


def _row_by_row(table: str) -> Importer:
    def importer(
        session: Session,
        actor: Actor,
        rows: Iterable[Mapping[str, str]],
        mapping: Mapping[str, str],
        **options: Any,
    ) -> ImportResult:
        return service.import_rows(session, actor, table, rows, mapping, **options)

    return importer


def import_opportunities(
    session: Session,
    actor: Actor,
    rows: Iterable[Mapping[str, str]],
    mapping: Mapping[str, str],
    *,
    dry_run: bool = False,
    on_row: Callable[[int], None] | None = None,
    skip: int = 0,
    batch_size: int = BATCH_SIZE,
    on_batch: Checkpoint | None = None,
    on_problem: Callable[[RowProblem], None] | None = None,
) -> ImportResult:
    """:func:`oppflow.imports.service.import_rows` for opportunities, a batch at a time; the
    same arguments and result, the same rows written."""
    run = _BulkRun(session, actor, dry_run, on_batch, on_problem)
    batch: list[tuple[int, dict[str, str]]] = []
    last = skip
    for number, row in enumerate(rows, start=1):
        if number > skip:
            batch.append((number, apply_mapping(row, mapping)))
            last = number
            if len(batch) >= batch_size:
                run.batch(batch, last)
                batch = []
        if on_row is not None:
            on_row(number)
    run.batch(batch, last)
    return run.result


@dataclass
class _Rules:
    """The answers that do not change within an import: per owner, per reference set, per
    process; an exception is remembered too, so each distinct value is checked once."""

    owners: dict[Any, dict[str, Any] | Exception] = field(default_factory=dict)
    references: dict[tuple[Any, ...], Exception | None] = field(default_factory=dict)
    writable: dict[Any, Exception | None] = field(default_factory=dict)
    processes: dict[str | None, tuple[Any, ProcessDefinition] | Exception] = field(
        default_factory=dict
    )


class _BulkRun:
    def __init__(
        self,
        session: Session,
        actor: Actor,
        dry_run: bool,
        on_batch: Checkpoint | None,
        on_problem: Callable[[RowProblem], None] | None,
    ) -> None:
        self.session, self.actor = session, actor
        # The row-by-row path, for the rows this one does not take, its report and the end of
        # each batch (commit with the checkpoint, or roll back a dry run).
        self.rowwise = service._Run(session, actor, "opportunities", dry_run, on_batch, on_problem)
        self.result = self.rowwise.result
        self.lookups = Lookups(LookupRepository(session, actor))
        self.rules = _Rules()
        self.defaults = {name: scalar_defaults()[name] for name in STEP_FIELDS["opportunity"]}

    def batch(self, batch: list[tuple[int, dict[str, str]]], last_row: int) -> None:
        with collector.paused():
            if batch:
                with _larger_page_cache(self.session):
                    self._rows(batch)
            self.lookups.forget()
            self.rowwise.end_batch(last_row)

    def _rows(self, batch: list[tuple[int, dict[str, str]]]) -> None:
        names = [v["external_id"] for _, v in batch if "external_id" in v]
        known = already_there(self.session, Opportunity, names)
        # A statement per lookup field, not one per distinct account or contact named; for
        # the rows this path places (those already there, or taken row by row, need none).
        self.lookups.prime(
            values
            for _, values in batch
            if values.get("external_id") not in known and not _rowwise(values)
        )
        placed: list[Placed] = []
        for number, values in batch:
            external_id = values.get("external_id")
            if external_id is not None and external_id in known:
                self.result.existing += 1
                continue
            if external_id is not None:
                known.add(external_id)  # a second row with the same id, as the flush would see
            if _rowwise(values):
                self.rowwise.one(number, values)
                continue
            found = self._place(number, values)
            if found is not None:
                placed.append(found)
        self._write(placed)

    def _place(self, number: int, values: dict[str, str]) -> Placed | None:
        fields = dict(values)
        external_id = fields.pop("external_id", None)
        try:
            return self._placed(fields, external_id)
        except REFUSALS as error:
            self.rowwise._refuse(number, fields, error)
            return None

    def _placed(self, fields: dict[str, str], external_id: str | None) -> Placed:
        """The row checked by every rule of the row-by-row path, or its refusal raised."""
        resolved = self.lookups.resolve(fields)
        extras = {key: str(resolved.pop(key)) for key in EXTRAS if key in resolved}
        state = extras.get("state")
        if state is not None and state.strip().casefold() not in OUTCOMES:
            raise RowRefused("state", state, "open, won or lost (or statecode 0, 1, 2)")
        data = OpportunityCreate.model_validate(resolved)
        values = data.model_dump(exclude_unset=True, exclude={"process_key"})
        if external_id is not None:
            values["external_id"] = external_id
        values = self._owned(values)
        self._check_references(values)
        values = revenue.check_changes(self.session, self.actor, None, values)
        process, definition = self._process(data.process_key)
        transitions = self._transitions(definition, values, extras.get("stage"))
        return Placed(values, process.id, process.current_version, process.key, transitions)

    def _owned(self, values: dict[str, Any]) -> dict[str, Any]:
        owner = values.get("owner_id")
        if owner not in self.rules.owners:
            try:
                owned = owned_values(self.session, self.actor, "opportunity", {"owner_id": owner})
                self.rules.owners[owner] = owned
            except OppflowError as error:
                self.rules.owners[owner] = error
        found = self.rules.owners[owner]
        if isinstance(found, Exception):
            raise _again(found)
        return {**values, **found}

    def _check_references(self, values: dict[str, Any]) -> None:
        """The rule of ``check_references``, for the ids the row gives itself: those its
        lookups found were found among the records the importer reads."""
        found = self.lookups.found
        given = {
            name: value
            for name in REFERENCES
            if (value := values.get(name)) is not None and (name, value) not in found
        }
        if not given:
            return
        key = tuple(given.get(name) for name in REFERENCES)
        if key not in self.rules.references:
            try:
                check_references(self.session, self.actor, given)
                self.rules.references[key] = None
            except OppflowError as error:
                self.rules.references[key] = error
        refused = self.rules.references[key]
        if refused is not None:
            raise _again(refused)

    def _process(self, key: str | None) -> tuple[Any, ProcessDefinition]:
        if key not in self.rules.processes:
            try:
                self.rules.processes[key] = _startable(self.session, key)
            except OppflowError as error:
                self.rules.processes[key] = error
        found = self.rules.processes[key]
        if isinstance(found, Exception):
            raise _again(found)
        return found

    def _transitions(
        self, definition: ProcessDefinition, values: dict[str, Any], stage: str | None
    ) -> tuple[engine.Transition, ...]:
        """Start, then ``next`` one stage at a time to ``stage``, as ``place_at_stage`` does."""
        moves = [engine.start(definition, utcnow())]
        if stage is None:
            return tuple(moves)
        target = stage_named(definition, stage)
        if target is None:
            raise RowRefused("stage", stage, f"not a stage of the process {definition.key}")
        record = {name: values.get(name, default) for name, default in self.defaults.items()}
        for _move in definition.stages:
            if moves[-1].to_stage == target:
                return tuple(moves)
            self._require_writable(values)
            moves.append(_next(definition, moves[-1].state, record, stage))
        raise RowRefused("stage", stage, "this record's path does not pass through that stage")

    def _require_writable(self, values: dict[str, Any]) -> None:
        """A move needs write access to the new record: checked once per owner and unit."""
        key = (values["owner_id"], values["owning_business_unit_id"])
        if key not in self.rules.writable:
            record = Opportunity(owner_id=key[0], owning_business_unit_id=key[1])
            try:
                require(self.session, self.actor, "write", record)
                self.rules.writable[key] = None
            except OppflowError as error:
                self.rules.writable[key] = error
        refused = self.rules.writable[key]
        if refused is not None:
            raise _again(refused)

    def _write(self, placed: list[Placed]) -> None:
        rows = Rows()
        writer = self._writer()
        for one in placed:
            add(rows, one, writer)
        _load(self.session, rows)
        self.result.created += len(placed)

    def _writer(self) -> Writer:
        context = audit._context(self.session)
        action = self.session.info.get("audit_action") or "create"
        return Writer(self.actor.user_id, utcnow(), context.address, action, _tx_id(self.session))


@contextmanager
def _larger_page_cache(session: Session) -> Iterator[None]:
    """SQLite's page cache at :data:`BATCH_PAGE_CACHE_KB` while a batch is written, then back
    to what it was (the connection returns to a pool that serves requests too)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = session.connection()
    was = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size=-{BATCH_PAGE_CACHE_KB}")
    try:
        yield
    finally:
        if not connection.invalidated:  # a dead connection's error is the one to see
            connection.exec_driver_sql(f"PRAGMA cache_size={was}")


def _again(error: Exception) -> Exception:
    """A remembered refusal, to raise for another row: without the traceback of its last
    raise, which each raise would lengthen, keeping every earlier row's frames alive."""
    return error.with_traceback(None)


def _rowwise(values: Mapping[str, str]) -> bool:
    """Rows the row-by-row path takes: those that close, or are dated in the past."""
    closing = values.get("state", "").strip().casefold() in CLOSING
    return closing or "created_at" in values


def _next(
    definition: ProcessDefinition,
    state: engine.InstanceState,
    record: dict[str, Any],
    text: str,
) -> engine.Transition:
    """One ``next`` as ``process.service.move`` asks the engine, refused in the words of
    ``imports.opportunities._next``."""
    path = "this record's path does not pass through that stage"
    try:
        moved = engine.next_stage(definition, state, record, utcnow())
    except StageGateRefused:
        missing = engine.missing_steps(definition, state.active_stage, record)
        labels = ", ".join(step.label.get("en") for step in missing)
        current = definition.stage(state.active_stage).name.en
        raise RowRefused("stage", text, f"{current} needs {labels} first") from None
    except MoveRefused:
        raise RowRefused("stage", text, path) from None
    if definition.stage_table(moved.to_stage) != "opportunity":
        raise RowRefused("stage", text, path)
    return moved


def _startable(session: Session, key: str | None) -> tuple[Any, ProcessDefinition]:
    """The process a new opportunity starts on, checked as ``start_opportunity`` does."""
    from oppflow.process.service import _startable as startable

    process = (
        ProcessRepository(session).by_key(key)
        if key
        else catalog.default_process(session, "opportunity")
    )
    return process, startable(session, process)


def _tx_id(session: Session) -> int:
    """The events' transaction id: PostgreSQL's current one (as the outbox writes it), else 0."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    return int(session.scalar(text("SELECT pg_current_xact_id()::text::bigint")) or 0)


def _load(session: Session, rows: Rows) -> None:
    """The rows in foreign-key order, then the totals' deltas the flush hook would append."""
    opportunities = stage_entries.stamped(rows.opportunities, rows.changes)
    for model, table_rows in (
        (Opportunity, opportunities),
        (ProcessInstance, rows.instances),
        (StageHistory, rows.history),
        (OpportunityChange, rows.changes),
        (AuditEntry, rows.audit),
        (Event, rows.events),
        (Stakeholder, rows.stakeholders),
    ):
        load(session, _table(model), table_rows)
    # The summaries the change log's hook would keep, from the same rows.
    load(session, _table(StageStint), stage_stints.rows_of_changes(rows.changes))
    load(session, _table(PhaseMove), phase_moves.rows_of_changes(rows.changes))
    load(session, _table(OpportunitySpan), spans.rows_of_changes(rows.changes))
    deltas = [row for summary in totals.SUMMARIES for row in _deltas(rows.finals, summary)]
    load(session, _table(TotalDelta), deltas)
    # Counted as the flush hook counts its own, so that commits fold as they go.
    totals.appended(session, len(deltas))


def _deltas(finals: list[dict[str, Any]], summary: totals.Summary) -> list[dict[str, Any]]:
    """The batch's contributions to ``summary``, summed per bucket (the hook's own rows)."""
    found = (totals.contribution(values, summary) for values in finals)
    summed = totals._summed(change for change in found if change is not None)
    return [totals._delta_row(summary, change) for change in summed.values()]


def _table(model: type[object]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table
