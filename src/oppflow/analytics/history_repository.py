"""The reports over history at size: queries that read the change log narrowly (decision 0025)
and the spans kept from it (decision 0035).

Each query reads only the opportunities the caller may read: the log's from them, the spans
tested against their ids (decision 0036). They live apart from ``repository.py`` so that the
list and board queries there and these can change separately.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    ScalarSelect,
    Select,
    String,
    and_,
    case,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.selectable import LateralFromClause

from oppflow.analytics import cursors
from oppflow.analytics.durations import STINT_FIELDS
from oppflow.analytics.forecasting import CLOSE_MONTH
from oppflow.analytics.funnels import SPAN_FIELDS, one_each
from oppflow.analytics.options import Period, iso_days
from oppflow.analytics.repository import (
    EVERY_STATE,
    StaleCutoffs,
    StaleRecord,
    cohort_membership,
    entries_joined,
    kept_by,
    perhaps_open_at,
    readable_ids,
    tested_in,
)
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import Change, State, Timeline, decode, microseconds
from oppflow.models import Note, Opportunity, OpportunityChange, OpportunityFile, OpportunitySpan
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.privileges import Depth
from oppflow.security.scope import read_scope

# Per statement, not set on the connection: Connection.execution_options() changes the
# connection itself, and every later statement of the transaction would be streamed too
# (on PostgreSQL a server-side cursor, which an INSERT or UPDATE cannot be).
STREAMED = {"yield_per": 50_000}


class HistoryRepository(OpportunityRepository):
    def states_at(
        self, moment: datetime, known_at: datetime | None, fields: Collection[str]
    ) -> Iterator[tuple[State, int, Decimal]]:
        """The states at ``moment`` of the readable opportunities open then, alike ones
        counted together (the state, how many, their estimated values summed): from the
        spans that hold ``moment`` when they keep every field asked (:meth:`spans_at`),
        else each read from the log (:meth:`values_at`)."""
        if known_at is None and set(fields) <= set(SPAN_FIELDS):
            return self.spans_at(moment, fields)
        return one_each(self.values_at(moment, known_at, fields))

    def values_at(
        self, moment: datetime, known_at: datetime | None, fields: Collection[str]
    ) -> Iterator[State]:
        """The states at ``moment`` of the readable opportunities open then: each field's
        value read in SQL from its rows by then (with ``known_at``, only those recorded by
        then), the last by (effective_at, seq) as ``Timeline.state_at`` takes it."""
        values = [_value_at(f, moment, known_at).label(f) for f in dict.fromkeys(fields)]
        found = select(*values).where(read_scope(self.actor, Opportunity), *perhaps_open_at(moment))
        then = found.subquery()
        query = select(*then.c).where(then.c.state == "open")
        reader = _Reader(None)
        names = list(then.c.keys())
        connection = self.session.connection()
        for batch in connection.execute(query, execution_options=STREAMED).partitions():
            for row in batch:
                yield reader.state(names, row)

    def open_count_at(self, moment: datetime, scope: Scope) -> int:
        """How many readable opportunities were open at ``moment`` and kept by ``scope``
        then: the open spans holding it, counted from their partial index."""
        span = OpportunitySpan
        holding = (*_holding(microseconds(moment), "open"), *kept_by(scope, span))
        # Read in the index's order: counted bare, PostgreSQL costed a parallel scan of every
        # span below a range of its index, and took 0.57 against 0.12 s at 1M (SQLite reads
        # the same index range either way).
        spans = select(span.to_us).where(*holding).order_by(span.to_us)
        spans = self._readable_only(spans, span.opportunity_id, tested=True)
        query = select(func.count()).select_from(spans.subquery())
        return int(self.session.execute(query).scalar_one())

    def spans_at(
        self,
        moment: datetime,
        fields: Collection[str],
        state: str = "open",
        *,
        close_days: tuple[date, date] | None = None,
    ) -> Iterator[tuple[State, int, Decimal]]:
        """The states at ``moment`` of the readable opportunities open (or ``won``) then,
        from the spans in that state that hold it (one range of a partial index, decisions
        0035 and 0037): alike in ``fields``, counted together and their values summed (the
        estimated value; a won deal's actual value, else its estimate), grouped by the
        database. :data:`CLOSE_MONTH` among ``fields`` reads the close day (estimated when
        open, actual when won) as its month; ``close_days`` keeps the spans whose close day
        is in ``[first, after)``."""
        names = [name for name in dict.fromkeys(fields) if name not in _VALUES]
        query = _spans_at(microseconds(moment), names, state, close_days)
        query = self._readable_only(query, OpportunitySpan.opportunity_id, tested=True)
        reader = _Reader(None)
        for batch in _driver_batches(self.session.connection(), query):
            for *texts, count, values in batch:
                yield reader.state(names, texts), count, summed(values)

    def states_closing_in(
        self,
        start: datetime,
        end: datetime,
        days: tuple[date, date],
        fields: Collection[str],
        *,
        with_ids: bool,
    ) -> Iterator[tuple[uuid.UUID | None, Sequence[str | None], Sequence[str | None]]]:
        """Each readable opportunity open with its estimated close in ``[first day, day
        after)`` at ``start`` or at ``end``, with its ``fields`` at each as the spans keep
        them (texts; all None where it did not exist): from the spans (decision 0035), the
        candidates from the open spans' index, their spans at the two instants joined or
        found by key (:func:`_states_at_both`). Its id only ``with_ids`` (None else: a UUID
        each cost a tenth of the time at 1M)."""
        names = list(fields)
        if not set(names) <= set(SPAN_FIELDS):
            raise ValueError(f"the spans keep no {sorted(set(names) - set(SPAN_FIELDS))}")
        instants = (microseconds(start), microseconds(end))
        lateral = _spans_by_lateral(self.session)
        query, key = _states_at_both(instants, days, names, lateral=lateral, with_ids=with_ids)
        for batch in _driver_batches(self.session.connection(), self._readable_only(query, key)):
            for row in batch:
                identifier = None
                if with_ids:
                    identifier = row[0] if isinstance(row[0], uuid.UUID) else uuid.UUID(row[0])
                yield identifier, row[1 : len(names) + 1], row[len(names) + 1 :]

    def cohort_at(
        self,
        moment: datetime,
        window: Period,
        first_phase: str | None,
        scope: Scope,
        *,
        entered: bool,
    ) -> Iterator[tuple[Any, ...]]:
        """The readable opportunities of a cohort (as :meth:`AnalyticsRepository.cohort_now`
        finds them) as they were at ``moment``, alike ones together (decision 0047): the
        state of the span holding each (decision 0035), their summed estimated value, the
        span's probability, process and stage, the phases entered by then joined by ``|``,
        and how many; kept by the ``scope``'s owner, owners and process then, as a fold of
        the log would keep it. The database groups them: a few hundred rows at 1M, where a
        row per member (125,000) cost a quarter of the report in Python."""
        at = microseconds(moment)
        members = select(Opportunity.id).where(
            cohort_membership(window, first_phase, entered=entered, until=at + 1),
            read_scope(self.actor, Opportunity),
        )
        then = _members_then(self.session, members, at, scope).subquery()
        alike = (then.c.state, then.c.probability, then.c.process_key, then.c.active_stage)
        query = select(
            then.c.state,
            func.aggregate_strings(then.c.estimated_value, ","),
            *alike[1:],
            then.c.entries,
            func.count(),
        ).group_by(*alike, then.c.entries)
        reader = _Reader(None)
        for batch in _driver_batches(self.session.connection(), query):
            for state, values, probability, *rest in batch:
                decoded = reader.value("probability", probability)
                yield state, summed(values), decoded, *rest

    def _readable_only(self, query: Select[Any], key: Any, *, tested: bool = False) -> Select[Any]:
        """``query`` kept to the readable opportunities by its column ``key``: tested against
        their ids (``tested_in``, for a range of spans scanned) or simply in them (for
        candidates already chosen)."""
        if self.actor.depth("opportunity", "read") == Depth.ORGANIZATION:
            return query
        ids = readable_ids(self.session, self.grants(), EVERY_STATE)
        return query.where(tested_in(key, ids, self.session) if tested else key.in_(ids))

    def stale_at(
        self,
        moment: datetime,
        cutoffs: StaleCutoffs,
        limit: int,
        owners: Collection[uuid.UUID] | None = None,
        process: str | None = None,
    ) -> tuple[list[StaleRecord], int]:
        """The stale report at a past ``moment``, read from the change log: the readable
        opportunities open then, in their stage then since before its cutoff or idle since
        before it (no change, note or file by then); the most idle first, and how many."""
        found = _state_at(moment).where(
            read_scope(self.actor, Opportunity), *perhaps_open_at(moment)
        )
        # Materialized: each opportunity's values at ``moment`` are read once, where the
        # conditions and the columns below would each read them again.
        then = found.cte("stale_then").prefix_with("MATERIALIZED")
        stage = (then.c.process_key, then.c.active_stage)
        late = or_(*cutoffs.late(then.c.entered_at, stage), *cutoffs.late(then.c.active_at, stage))
        conditions: list[ColumnElement[bool]] = [then.c.state == "open", late]
        if owners is not None:
            conditions.append(then.c.owner_id.in_([str(owner) for owner in owners]))
        if process is not None:
            conditions.append(then.c.process_key == process)
        # The total beside each row (a window over every stale row, before the limit): the
        # states at ``moment`` are read once, not once more to count them.
        total = func.count().over().label("total")
        page = select(*then.c, total).where(*conditions)
        page = page.order_by(then.c.active_at, then.c.id).limit(limit)
        rows = self.session.execute(page).all()
        return [_stale_record(row) for row in rows], rows[0].total if rows else 0


def held_at(moment: datetime, scope: Scope) -> Select[Any] | None:
    """The ids of the opportunities the ``scope``'s owner, owners and process kept at
    ``moment``, from the spans holding it (any state: the table, not the open spans'
    index); None when it asks none of them."""
    span = OpportunitySpan
    kept = kept_by(scope, span)
    if not kept:
        return None
    at = microseconds(moment)
    return select(span.opportunity_id).where(span.from_us <= at, span.to_us > at, *kept)


def _members_then(session: Session, members: Select[Any], at: int, scope: Scope) -> Select[Any]:
    """Each member's state, estimated value, probability, process and stage in the span
    holding ``at`` (microseconds), and the phases it had entered by then, where the span
    meets the ``scope``'s filters. The members are read first, sorted by id, the order of the
    spans' and the phase moves' keys, so that each seek lands near the one before instead
    of on a page of its own (on PostgreSQL at 1M, 1.7 against 1.2 s). ``LIMIT -1`` (none)
    keeps the sort on SQLite, which drops the ORDER BY of a subquery without a LIMIT. On
    PostgreSQL each member's span is found by :func:`_latest_span`."""
    members = members.order_by(*members.selected_columns)
    if session.get_bind().dialect.name == "sqlite":
        members = members.limit(-1)
    found = members.cte("members").prefix_with("MATERIALIZED")
    member, span = found.c[0], OpportunitySpan
    columns: list[Any] = [span.state, span.estimated_value, span.probability]
    columns += [span.process_key, span.active_stage]
    phases = entries_joined(session, member, until=at + 1).label("entries")
    if _spans_by_lateral(session):
        latest = _latest_span(span, member, at, [*columns, span.owner_id], "held")
        holds = and_(latest.c.to_us > at, *kept_by(scope, latest.c))
        chosen = [latest.c[column.key] for column in columns]
        return select(*chosen, phases).select_from(found).join(latest, holds)
    holds = and_(
        span.opportunity_id == member, span.from_us <= at, span.to_us > at, *kept_by(scope, span)
    )
    return select(*columns, phases).select_from(found).join(span, holds)


def _driver_batches(connection: Connection, query: Select[Any]) -> Iterator[Sequence[Any]]:
    """The rows of a query of text and numbers (no column whose type converts what the
    driver gives, which each driver gives its own way: a UUID column comes as text from
    SQLite, as a UUID from PostgreSQL's driver), in batches as the driver gives them, no
    SQLAlchemy row built (a third of the snapshot funnel's time at 1M on SQLite, a sixth of
    conversion as of an instant on PostgreSQL). On SQLite straight from its cursor, which
    steps the statement as rows are fetched; on PostgreSQL from a server-side cursor
    (``cursors``), so that memory stays bounded."""
    if connection.dialect.name == "postgresql":
        yield from cursors.batches(connection, query, STREAMED["yield_per"])
        return
    result = connection.execute(query)
    try:
        while batch := result.cursor.fetchmany(STREAMED["yield_per"]):
            yield batch
    finally:
        result.close()


def read_timelines(
    connection: Connection,
    wanted: Select[Any],
    fields: Collection[str] | None,
    *,
    born: bool = False,
) -> Iterator[Timeline]:
    """The timelines of the ``wanted`` opportunities (a select of their ids), streamed one
    opportunity at a time; with ``fields``, only those fields' rows. The caller's query holds
    any security (the summaries' writers read every opportunity they rewrite).

    A writer passes the fields its rows are made of, ``state`` among them: an opportunity
    counts only where a state row stands, so a timeline that starts at its first such row
    makes the same rows; one that reads the birth itself (a sales cycle) asks ``born``, and
    each timeline then starts at its first row of any field. Rows come in the covering
    index's order (field by field) and are put in time order per opportunity; their columns
    are read as the driver gives them and converted once per opportunity or per distinct
    instant."""
    # Core, not the ORM's result: nothing here is an entity.
    births_read = None
    if born and fields is not None:
        births_read = connection.execute(_births(wanted), execution_options=STREAMED)
    rows = connection.execute(_log_rows(wanted, fields), execution_options=STREAMED)
    reader = _Reader(_Births(births_read.partitions()) if births_read is not None else None)
    try:
        yield from _grouped(reader, rows.partitions())
    finally:
        # Read only as far as the log rows needed: closed now, not when collected.
        if births_read is not None:
            births_read.close()


def _grouped(reader: _Reader, batches: Iterator[Sequence[Any]]) -> Iterator[Timeline]:
    """One timeline per run of rows of the same opportunity."""
    current: Any = None
    found: list[Any] = []
    for batch in batches:
        for row in batch:
            if row[0] != current:
                if found:
                    yield reader.timeline(current, found)
                current, found = row[0], []
            found.append(row)
    if found:
        yield reader.timeline(current, found)


def _log_rows(
    wanted: Select[Any], fields: Collection[str] | None
) -> Select[str, str, str | None, str, str, int]:
    """The log rows of the ``wanted`` opportunities in the covering index's order, their
    columns typed as plain values so that the driver's own (text on SQLite) come through
    unconverted. The opportunities first, then their rows by the index: a join would let the
    planner test the conditions once per log row."""
    log = OpportunityChange
    query = select(
        type_coerce(log.opportunity_id, String),
        log.field,
        log.new_value,
        type_coerce(log.effective_at, String),
        type_coerce(log.recorded_at, String),
        log.seq,
    ).where(log.opportunity_id.in_(wanted))
    if fields is not None:
        query = query.where(log.field.in_(sorted(fields)))
    return query.order_by(log.opportunity_id, log.field, log.effective_at, log.seq)


def _births(wanted: Select[Any]) -> Select[str, str]:
    """Each wanted opportunity's first instant (its birth), in the order of :func:`_log_rows`."""
    log = OpportunityChange
    return (
        select(
            type_coerce(log.opportunity_id, String), type_coerce(func.min(log.effective_at), String)
        )
        .where(log.opportunity_id.in_(wanted))
        .group_by(log.opportunity_id)
        .order_by(log.opportunity_id)
    )


class _Births:
    """The births, read alongside the log rows (both in opportunity order). Another
    transaction's commit between the two reads (PostgreSQL reads each statement's own
    snapshot) can leave an opportunity out of one: it then starts at its first row read."""

    def __init__(self, batches: Iterator[Sequence[Any]]) -> None:
        self.rows = (row for batch in batches for row in batch)
        self.next: Any = next(self.rows, None)

    def of(self, key: Any) -> Any | None:
        while self.next is not None and self.next[0] < key:
            self.next = next(self.rows, None)
        if self.next is not None and self.next[0] == key:
            return self.next[1]
        return None


class _Reader:
    """Converts the driver's values: on SQLite ids come as hex text and instants as ISO text
    in UTC; on PostgreSQL psycopg has made them UUIDs and aware datetimes already."""

    def __init__(self, births: _Births | None) -> None:
        self.births = births
        self.last_text: Any = None
        self.last_moment: datetime | None = None
        self.decoded: dict[tuple[str, str], Any] = {}

    def timeline(self, key: Any, rows: list[Any]) -> Timeline:
        """One opportunity's rows, in (effective_at, seq) order: ISO text on SQLite sorts as
        the instants it writes (SQLite's own ORDER BY compares that text too)."""
        rows.sort(key=_IN_TIME_ORDER)
        changes = []
        for _key, field, text, effective, recorded, _seq in rows:
            at = self.moment(effective)
            known = at if recorded == effective else self.moment(recorded)
            changes.append(Change(field, self.value(field, text), at, known))
        identifier = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
        born = self.births.of(key) if self.births is not None else None
        if born is None:
            return Timeline(identifier, changes)
        return Timeline(identifier, changes, min(self.moment(born), changes[0].at))

    def moment(self, value: Any) -> datetime:
        # The rows of one flush share an instant: parse it once.
        if value == self.last_text and self.last_moment is not None:
            return self.last_moment
        found = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        found = found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
        self.last_text, self.last_moment = value, found
        return found

    def state(self, names: Sequence[str], texts: Sequence[str | None]) -> State:
        return State({n: self.value(n, t) for n, t in zip(names, texts, strict=True)})

    def value(self, field: str, text: str | None) -> Any:
        # Owners, stages, phases and states repeat: decode each once.
        if text is None or field in _UNSHARED:
            return decode(field, text)
        key = (field, text)
        found = self.decoded.get(key, _MISSING)
        if found is _MISSING:
            found = self.decoded[key] = decode(field, text)
        return found


_IN_TIME_ORDER = itemgetter(3, 5)  # effective_at, seq
# The states whose spans have a partial index (``OpportunitySpan``): only these are written
# into a statement.
_INDEXED_STATES = frozenset({"open", "won"})
# What a span read at an instant sums: a won deal is worth its actual value, else its estimate.
_VALUES = frozenset({"estimated_value", "actual_value"})
_WON_VALUE = func.coalesce(OpportunitySpan.actual_value, OpportunitySpan.estimated_value)
_MISSING = object()
_CLOSE_DATE = {"open": "estimated_close_date", "won": "actual_close_date"}
# Fields whose values rarely repeat: a cache of them would only grow.
_UNSHARED = frozenset({"estimated_value", "actual_value"})


def _spans_at(
    at: int, names: list[str], state: str, close_days: tuple[date, date] | None = None
) -> Select[Any]:
    """The ``names`` of the spans in ``state`` (``open`` or ``won``) holding ``at``
    (microseconds), read from that state's partial index alone, grouped: each group's count
    and its values joined by commas (:func:`summed` adds them exactly, where the database's
    sum of the spans' text would be a float on SQLite)."""
    span = OpportunitySpan
    close = span.__table__.c[_CLOSE_DATE[state]]
    columns = [_span_column(name, state, close) for name in names]
    value = span.estimated_value if state == "open" else _WON_VALUE
    query = select(*columns, func.count(), func.aggregate_strings(value, ","))
    query = query.where(*_holding(at, state))
    if close_days is not None:
        first, after = iso_days(close_days)
        query = query.where(close >= first, close < after)
    # The state is said, not read: nothing to group by. Grouped by nothing, the query
    # would answer one row (a count of 0) where no span holds the instant.
    grouped = [column for name, column in zip(names, columns, strict=True) if name != "state"]
    if not grouped:
        raise ValueError("spans are read grouped by at least one field besides the state")
    return query.group_by(*grouped)


def _span_column(name: str, state: str, close: Any) -> ColumnElement[Any]:
    if name == "state":  # each span read is in that state
        return _state_said(state)
    if name == CLOSE_MONTH:
        return func.substr(close, 1, 7).label(CLOSE_MONTH)
    column: ColumnElement[Any] = OpportunitySpan.__table__.c[name]
    return column


def summed(values: str | None) -> Decimal:
    """The exact sum of decimals the database joined by commas (none: 0)."""
    if not values:
        return Decimal(0)
    return sum(map(Decimal, values.split(",")), Decimal(0))


def _holding(at: int, state: str) -> tuple[ColumnElement[bool], ...]:
    """The spans in ``state`` holding ``at`` (microseconds): a range of that state's partial
    index, whose condition is written out, not bound, so that the planner may use it."""
    span = OpportunitySpan
    return span.state == _state_said(state), span.to_us > at, span.from_us <= at


def _state_said(state: str) -> ColumnElement[str]:
    if state not in _INDEXED_STATES:
        raise ValueError(f"no spans' index holds the state {state!r}")
    return literal_column(f"'{state}'")


def _states_at_both(
    instants: tuple[int, int],
    days: tuple[date, date],
    names: list[str],
    *,
    lateral: bool,
    with_ids: bool,
) -> tuple[Select[Any], Any]:
    """The opportunities open with a close day in ``days`` at either instant, each with its
    id (NULL unless ``with_ids``), ``names`` of the span holding the first instant, then of
    the one holding the second; and the column of their ids. ``lateral`` (PostgreSQL):
    :func:`_states_at_both_by_key`."""
    if lateral:
        return _states_at_both_by_key(instants, days, names, with_ids=with_ids)
    first, after = iso_days(days)
    closing = union(*(_open_closing_in(at, first, after) for at in instants)).subquery()
    candidate = closing.c.opportunity_id
    query = select(_id_if(candidate, with_ids)).select_from(closing)
    for name, at in zip(("at_start", "at_end"), instants, strict=True):
        span = aliased(OpportunitySpan, name=name)
        query = query.add_columns(*(getattr(span, field) for field in names))
        holds = (span.opportunity_id == candidate, span.from_us <= at, span.to_us > at)
        query = query.outerjoin(span, and_(*holds))
    return query, candidate


def _states_at_both_by_key(
    instants: tuple[int, int], days: tuple[date, date], names: list[str], *, with_ids: bool
) -> tuple[Select[Any], Any]:
    """:func:`_states_at_both` on PostgreSQL, whose planner read every span twice for joins
    on the holding conditions (decision 0044). The spans open in the period at each instant
    are read from their index with ``names``, and matched by id (a full join): a candidate
    found at one instant only has its span at the other found by its key
    (:func:`_latest_span`). Probing every candidate at both instants took 0.95 against 0.65 s
    for the statement at 1M."""
    first, after = iso_days(days)
    found = [_open_closing_in(at, first, after, names).subquery() for at in instants]
    ids = [side.c.opportunity_id for side in found]
    candidate = func.coalesce(*ids)
    query = select(_id_if(candidate, with_ids)).select_from(
        found[0].join(found[1], ids[0] == ids[1], full=True)
    )
    for index, (name, at) in enumerate(zip(("at_start", "at_end"), instants, strict=True)):
        side, other = found[index], ids[1 - index]
        span = aliased(OpportunitySpan, name=f"{name}_span")
        columns = [getattr(span, field) for field in names]
        missing = side.c.opportunity_id.is_(None)
        latest = _latest_span(span, other, at, columns, name, when=[missing])
        query = query.add_columns(*(func.coalesce(side.c[f], latest.c[f]) for f in names))
        query = query.outerjoin(latest, latest.c.to_us > at)
    return query, candidate


def _id_if(candidate: Any, wanted: bool) -> ColumnElement[Any]:
    """A candidate's id, or NULL where it is not wanted: the driver makes a UUID of each id
    read (0.15 s for the waterfall's 100,000 candidates at 1M on PostgreSQL)."""
    return type_coerce(candidate, String) if wanted else null()


def _spans_by_lateral(session: Session) -> bool:
    """Whether the span holding an instant is read by :func:`_latest_span` rather than joined
    by its holding conditions: on PostgreSQL, whose planner read every span for the join
    (decision 0044); SQLite seeks the join by key, as measured at 1M."""
    return session.get_bind().dialect.name == "postgresql"


def _latest_span(
    span: Any,
    record: Any,
    at: int,
    columns: list[Any],
    name: str,
    *,
    when: Sequence[ColumnElement[bool]] = (),
) -> LateralFromClause:
    """``columns`` and the end of the span of ``record`` that began last by ``at`` (a
    lateral subquery, ``name``: one step back along the key of ``span``, the spans' table or
    an alias of it). A record's spans do not overlap, so that span holds ``at`` exactly when
    it ends after it. For PostgreSQL, whose planner took a join on the holding conditions
    for one of several spans per record, and read every span. With ``when`` (conditions on
    the row the subquery is joined to), probed only where they hold: empty elsewhere."""
    latest = (
        select(span.to_us, *columns)
        .where(*when, span.opportunity_id == record, span.from_us <= at)
        .order_by(span.from_us.desc())
        .limit(1)
    )
    return latest.lateral(name)


def _open_closing_in(at: int, first: str, after: str, names: Sequence[str] = ()) -> Select[Any]:
    """The opportunities open at ``at`` (microseconds) with an estimated close day from
    ``first`` to before ``after`` (ISO days sort as text), with ``names`` of their span: from
    the open spans' index."""
    span = OpportunitySpan
    columns = [getattr(span, name) for name in names]
    return select(span.opportunity_id, *columns).where(
        *_holding(at, "open"),
        span.estimated_close_date >= first,
        span.estimated_close_date < after,
    )


def _state_at(moment: datetime) -> Select[Any]:
    """Each opportunity's stage, owner and state at ``moment``, when it entered that stint and
    when it was last active (a change, a note or a file) by then."""
    return select(
        Opportunity.id,
        Opportunity.name,
        _value_at("owner_id", moment).label("owner_id"),
        _value_at("process_key", moment).label("process_key"),
        _value_at("active_stage", moment).label("active_stage"),
        _value_at("pipeline_phase", moment).label("pipeline_phase"),
        _value_at("state", moment).label("state"),
        _last_change(moment, STINT_FIELDS).label("entered_at"),
        _last_activity_at(moment).label("active_at"),
    )


def _value_at(field: str, moment: datetime, known_at: datetime | None = None) -> ScalarSelect[Any]:
    """The field's value at ``moment``: its row with the greatest (effective_at, seq) by then
    (among those recorded by ``known_at``, if given); one seek in the covering index."""
    log = OpportunityChange
    query = select(log.new_value).where(
        log.opportunity_id == Opportunity.id, log.field == field, log.effective_at <= moment
    )
    if known_at is not None:
        query = query.where(log.recorded_at <= known_at)
    order = (log.effective_at.desc(), log.seq.desc())
    return query.order_by(*order).limit(1).scalar_subquery()


def _last_change(moment: datetime, fields: tuple[str, ...] | None = None) -> ScalarSelect[Any]:
    log = OpportunityChange
    query = select(func.max(log.effective_at)).where(
        log.opportunity_id == Opportunity.id, log.effective_at <= moment
    )
    if fields is not None:
        query = query.where(log.field.in_(fields))
    return query.scalar_subquery()


def _last_activity_at(moment: datetime) -> ColumnElement[datetime]:
    """The latest of the last change, the last note and the last file at or before ``moment``
    (the log stands for the record's own modification: it alone is dated)."""
    note = select(func.max(Note.at)).where(Note.opportunity_id == Opportunity.id, Note.at <= moment)
    file = select(func.max(OpportunityFile.created_at)).where(
        OpportunityFile.opportunity_id == Opportunity.id, OpportunityFile.created_at <= moment
    )
    return func.coalesce(
        _greatest(_last_change(moment), note.scalar_subquery(), file.scalar_subquery()),
        Opportunity.created_at,
    )


def _greatest(*values: Any) -> ColumnElement[datetime]:
    # As repository._greatest, but the first value may be NULL too (no change by then).
    first, *others = values
    found: ColumnElement[datetime] = first
    for other in others:
        found = case(
            (found.is_(None), other), (other.is_not(None) & (other > found), other), else_=found
        )
    return found


def _stale_record(row: Any) -> StaleRecord:
    return StaleRecord(
        opportunity_id=row.id,
        name=row.name,
        owner_id=uuid.UUID(row.owner_id),
        process_key=row.process_key,
        active_stage=row.active_stage,
        pipeline_phase=row.pipeline_phase,
        entered_stage_at=row.entered_at,
        last_activity_at=row.active_at,
    )
