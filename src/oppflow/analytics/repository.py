"""Aggregate queries, each over only the opportunities the caller may read: from them, or
(a summary read over a period) its rows tested against their ids (decision 0036)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVarTuple

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from oppflow.analytics import kept_ids, totals
from oppflow.analytics.defaults import Defaults
from oppflow.analytics.durations import StageStays
from oppflow.analytics.lists import opportunities_in_order, owners_in
from oppflow.analytics.options import Period
from oppflow.analytics.outcomes import CLOSED_STATES
from oppflow.analytics.schemas import (
    FunnelFilters,
    FunnelPhase,
    OutcomeTotal,
    OwnerTotal,
)
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import PHASE_SEPARATOR, encode, microseconds
from oppflow.models import (
    ClosedDeal,
    Competitor,
    Note,
    Opportunity,
    OpportunityChange,
    OpportunityClose,
    OpportunityFile,
    PhaseMove,
    StageStint,
    TotalDelta,
)
from oppflow.models.analytics import OPEN_END
from oppflow.models.base import MONEY
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.privileges import Depth
from oppflow.security.scope import Grants, ownership_reach, read_scope

CENT = Decimal("0.01")
Columns = TypeVarTuple("Columns")


@dataclass(frozen=True)
class Then:
    """An instant a report over a summary in time reads (microseconds since 1970), and its
    scope: the filters the rows holding it must meet, with the owner and process then."""

    at: int
    scope: Scope


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


class AnalyticsRepository(OpportunityRepository):
    def funnel(self, filters: FunnelFilters, defaults: Defaults) -> list[FunnelPhase]:
        """Open opportunities grouped by pipeline phase now: count, value and weighted value
        (a missing probability weighs as its stage's default)."""
        totals: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
        for part in self.open_pipeline(filters):
            found = totals[part.key[4] or ""]
            found[0] += part.count
            found[1] += part.value
            found[2] += defaults.weighted_total(part)
        return [
            FunnelPhase(
                pipeline_phase=phase,
                count=count,
                estimated_value=_money(value),
                weighted_value=_money(weighted),
            )
            for phase, (count, value, weighted) in sorted(totals.items())
            if count
        ]

    def pipeline_by_owner(self, filters: FunnelFilters, defaults: Defaults) -> list[OwnerTotal]:
        """Open opportunities grouped by owner, the largest pipeline first."""
        totals: dict[uuid.UUID, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
        for part in self.open_pipeline(filters):
            found = totals[part.key[0]]
            found[0] += part.count
            found[1] += part.value
            found[2] += defaults.weighted_total(part)
        rows = [
            OwnerTotal(
                owner_id=owner,
                count=count,
                estimated_value=_money(value),
                weighted_value=_money(weighted),
            )
            for owner, (count, value, weighted) in totals.items()
            if count
        ]
        return sorted(rows, key=lambda row: (-row.estimated_value, str(row.owner_id)))

    def open_pipeline(self, filters: FunnelFilters) -> Iterator[totals.Contribution]:
        """The open pipeline the actor reads, per owner, unit, process, stage and phase."""
        return self.summed(filters, totals.PIPELINE)

    def summed(
        self, filters: FunnelFilters, summary: totals.Summary
    ) -> Iterator[totals.Contribution]:
        """``summary``'s contributions that the actor reads: the maintained totals of the
        owners and units their depth reaches, plus, one by one, the opportunities they read
        only through a share or a sales team."""
        conditions = self._filter_conditions(filters)
        if filters.close_from or filters.close_to:  # not kept in the totals
            scope = read_scope(self.actor, Opportunity)
            yield from self._contributions(summary, [scope, *conditions])
            return
        depth = self.actor.depth("opportunity", "read")
        yield from self._maintained(summary, depth, filters)
        # Beyond ownership: the few opportunities shared or on the sales team, by their ids.
        for granted in self.grants().parts()[1:]:
            yield from self._contributions(summary, [granted, *conditions])

    def _maintained(
        self, summary: totals.Summary, depth: Depth, filters: FunnelFilters
    ) -> Iterator[totals.Contribution]:
        """The totals the actor's depth reaches plus their unfolded deltas, read in one
        statement so that a fold running meanwhile is seen whole or not at all."""
        model, delta = summary.model, TotalDelta
        sums = ("open_count", "value_sum", "probable_sum", "unweighted_sum")
        columns = (*summary.key_fields, *sums)
        folded = select(*(getattr(model, c) for c in columns)).where(
            ownership_reach(self.actor, depth, model.owner_id, model.owning_business_unit_id),
            *self._total_conditions(model, filters),
        )
        pending = select(*(getattr(delta, c) for c in columns)).where(
            delta.summary == summary.name,
            ownership_reach(self.actor, depth, delta.owner_id, delta.owning_business_unit_id),
            *self._total_conditions(delta, filters),
        )
        rows = self.session.execute(union_all(folded, pending)).mappings()
        yield from totals.merged(rows, summary).values()

    def _contributions(
        self, summary: totals.Summary, conditions: list[ColumnElement[bool]]
    ) -> Iterator[totals.Contribution]:
        """The contributions of the opportunities meeting ``conditions``, which hold their
        row-level security (all of it, or one of its parts)."""
        fields = [getattr(Opportunity, field) for field in totals.FIELDS]
        query = select(*fields).where(*conditions)
        query = query.where(Opportunity.state.in_(summary.states))
        for row in self.session.execute(query, execution_options={"yield_per": 20_000}):
            found = totals.contribution(dict(zip(totals.FIELDS, row, strict=True)), summary)
            if found is not None:
                yield found

    @staticmethod
    def _total_conditions(model: Any, filters: FunnelFilters) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if filters.owner_id:
            found.append(model.owner_id == filters.owner_id)
        if filters.business_unit_id:
            found.append(model.owner_id.in_(owners_in(filters.business_unit_id)))
        if filters.process_key:
            found.append(model.process_key == filters.process_key)
        return found

    def outcomes(self, filters: FunnelFilters, start: date, end: date) -> list[OutcomeTotal]:
        """Won and lost opportunities closed between ``start`` and ``end`` (inclusive)."""
        conditions = [
            *self._filter_conditions(filters),
            Opportunity.state.in_(("won", "lost")),
            Opportunity.actual_close_date >= start,
            Opportunity.actual_close_date <= end,
        ]
        readable = self.readable().where(*conditions).subquery()
        amount = func.coalesce(readable.c.actual_value, readable.c.estimated_value, 0)
        query = select(readable.c.state, func.count(), func.coalesce(func.sum(amount), 0))
        rows = self.session.execute(query.group_by(readable.c.state))
        return [OutcomeTotal(state=state, count=count, value=_money(v)) for state, count, v in rows]

    def closed_deals(
        self, filters: FunnelFilters, days: tuple[date, date] | None, then: Then | None = None
    ) -> Sequence[Sequence[Any]]:
        """The readable deals closed now (or ``then``), their close date in ``[first,
        after)`` if given, as win/loss reads them (``outcomes.deals_of``): outcome, cycle,
        value, reason, phases reached and, for a loss, the competitor its close record
        names."""
        deal = ClosedDeal
        query = select(
            deal.won,
            deal.cycle_microseconds,
            deal.closed_value,
            deal.status_reason,
            deal.phases_reached,
            case((deal.won, None), else_=_competitor_of_loss()),
        )
        # The driver's rows (text, numbers, and booleans as 0 and 1 on SQLite): no row built
        # per deal (a fifth of the time at 1M).
        return self._driver_rows(self._closed_readable(query, filters, days, then))

    def closed_deals_grouped(
        self, filters: FunnelFilters, days: tuple[date, date] | None, then: Then | None = None
    ) -> Sequence[Sequence[Any]]:
        """The readable deals closed now (or ``then``), counted per outcome, phases reached
        and state 30 days before the close (``outcomes.scored_of_groups``)."""
        deal = ClosedDeal
        keys = (
            deal.won,
            deal.phases_reached,
            deal.outlook_state,
            deal.outlook_probability,
            deal.outlook_process_key,
            deal.outlook_stage,
        )
        query = self._closed_readable(select(*keys, func.count()), filters, days, then)
        return self.session.execute(query.group_by(*keys)).all()

    def _closed_readable(
        self,
        query: Select[*Columns],
        filters: FunnelFilters,
        days: tuple[date, date] | None,
        then: Then | None,
    ) -> Select[*Columns]:
        """``query`` over the closed deals' rows the actor reads: those that hold now, with
        the filters on the records; or those that hold ``then``, kept by its conditions.
        Unless the actor reads every record and asks no filter of them: over a period, each
        row is tested against the readable ids; read whole (calibration), the readable records
        lead and each one's rows are read by their key (decision 0038)."""
        query = query.select_from(ClosedDeal)
        if days is not None:
            first, after = days
            query = query.where(
                ClosedDeal.actual_close_date >= first, ClosedDeal.actual_close_date < after
            )
        reads_all = self._reads_all(filters)
        if reads_all and then is None and days is None:
            # Calibration's groups, in the order of its index.
            return query.where(ClosedDeal.to_us == OPEN_END)
        query, record_states = self._rows_holding(query, then)
        if reads_all:
            return query
        if days is not None:
            return self._summary_readable(query, ClosedDeal.opportunity_id, filters, record_states)
        query = query.join(Opportunity, Opportunity.id == ClosedDeal.opportunity_id)
        conditions = self._filter_conditions(filters)
        return query.where(record_states, self.grants().scope(), *conditions)

    def _rows_holding(
        self, query: Select[*Columns], then: Then | None
    ) -> tuple[Select[*Columns], ColumnElement[bool]]:
        """``query`` over the closed deals' rows that hold now or ``then``, and the states
        their records may be in. The rows that hold now are tested ``+to_us`` on SQLite, which
        otherwise starts from the calibration index (its first column) and reads each row's
        table row."""
        if then is None:
            query = query.where(unindexed(ClosedDeal.to_us, self.session) == OPEN_END)
            return query, Opportunity.state.in_(CLOSED_STATES)
        holds = (ClosedDeal.from_us <= then.at, ClosedDeal.to_us > then.at)
        # A deal closed then may be open now.
        return query.where(*holds, *kept_by(then.scope, ClosedDeal)), EVERY_STATE

    def stays(
        self,
        filters: FunnelFilters,
        entered: tuple[int, int],
        as_of: int,
        *,
        cumulative: bool,
        held: Select[Any] | None = None,
        known: Sequence[tuple[str, str]] = (),
    ) -> Iterator[StageStays]:
        """Per stage, the stays of the readable opportunities that entered it in ``[since,
        until)`` (microseconds since 1970) as time in stage counts them (``durations``): per
        opportunity, the latest stint's length, or every one's summed, to its end or to
        ``as_of`` if still open, and whether the latest had ended by then, as one walking key;
        the keys in no order (Python sorts a stage's integers faster than the database sorts
        every stay). With ``held`` (the ids the filters kept at ``as_of``), only those
        opportunities'. ``known``: the (process, stage) pairs most stays are of. Read at once
        on SQLite; on PostgreSQL as the stages are iterated."""
        per_deal = self._stays_per_deal(entered, as_of, cumulative=cumulative)
        if held is not None:
            per_deal = per_deal.where(tested_in(StageStint.opportunity_id, held, self.session))
        per_deal = self._summary_readable(per_deal, StageStint.opportunity_id, filters)
        if self.session.get_bind().dialect.name != "postgresql":
            # SQLite sorts every stay to group them by stage: gathered here, it was faster.
            return _stays_of(self._stays_gathered(per_deal, known))
        return self._stays_by_stage(per_deal.subquery())

    def _stays_gathered(
        self, per_deal: Select[str, str, int], known: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], list[int]]:
        """The walking keys of ``per_deal``'s stays by process and stage. The stays of a
        ``known`` stage come with its index there (a small number, of which the driver makes
        no object), where two texts a stay cost a seventh of the statement at 1M; those of
        any other stage with their names, by a second statement run only if there are some."""
        by_stage: dict[tuple[str, str], list[int]] = defaultdict(list)
        code = _stage_code(known)
        gathered: list[list[int]] = [by_stage[pair] for pair in known]
        others = not known
        walking_key = per_deal.selected_columns.walking_key
        for index, key in self._driver_rows(per_deal.with_only_columns(code, walking_key)):
            if index is None:
                others = True
            else:
                gathered[index].append(key)
        if others:
            for process, stage, key in self._driver_rows(per_deal.where(code.is_(None))):
                by_stage[(process, stage)].append(key)
        return by_stage

    def _stays_by_stage(self, stay: Subquery) -> Iterator[StageStays]:
        """PostgreSQL gathers each stage's walking keys into an array, and counts and sums
        the ended ones: one row a stage, where a row a stay cost a fifth of time in stage at
        1M (1.01 against 0.81 s for an administrator)."""
        ended = stay.c.walking_key % 2 == 0
        query = select(
            stay.c.process,
            stay.c.stage,
            func.array_agg(stay.c.walking_key),
            func.count().filter(ended),
            # Twice the ended stays' summed length: their walking keys are their lengths × 2.
            func.sum(stay.c.walking_key).filter(ended),
        ).group_by(stay.c.process, stay.c.stage)
        for process, stage, keys, count, doubled in self._driver_rows(query):
            yield StageStays(process, stage, keys, count, int(doubled or 0) >> 1)

    def _stays_per_deal(
        self, entered: tuple[int, int], as_of: int, *, cumulative: bool
    ) -> Select[str, str, int]:
        """One row per opportunity and stage entered in ``entered``: its walking key."""
        stint = StageStint
        ended = and_(stint.left_us.is_not(None), stint.left_us <= as_of)
        done = func.min(case((ended, 1), else_=0))
        length: ColumnElement[Any]
        if cumulative:
            length = func.sum(case((ended, stint.left_us), else_=as_of) - stint.entered_us)
        else:
            # Stints of one opportunity never overlap: all ended when its latest has, and
            # the latest one's end is the last end.
            latest_end = case((done == 1, func.max(stint.left_us)), else_=as_of)
            length = latest_end - func.max(stint.entered_us)
        since, until = entered
        return (
            select(
                _STINT_PROCESS.label("process"),
                stint.stage.label("stage"),
                # The stay's walking key (``durations``): its length, then ended before open.
                # An integer on PostgreSQL too, whose sum of BIGINTs is a NUMERIC.
                cast(length * 2 + 1 - done, BigInteger).label("walking_key"),
            )
            .select_from(stint)
            .where(stint.entered_us >= since, stint.entered_us < until)
            .group_by(stint.opportunity_id, stint.process_key, stint.stage)
        )

    def _driver_rows(
        self, query: Select[*Columns], money_at: int | None = None
    ) -> Sequence[Sequence[Any]]:
        """The rows as the driver returns them, for a query of text and numbers: no
        SQLAlchemy row built (a third of time in stage's time at 1M), and no value converted
        but the money at ``money_at``, as the money type converts it on this database."""
        result = self.session.connection().execute(query)
        try:
            rows: Sequence[Sequence[Any]] = result.cursor.fetchall()
            description = result.cursor.description
        finally:
            result.close()
        if money_at is None:
            return rows
        dialect = self.session.get_bind().dialect
        money = MONEY.dialect_impl(dialect).result_processor(dialect, description[money_at][1])
        return rows if money is None else _with_money(rows, money_at, money)

    def phase_moves_counted(
        self, filters: FunnelFilters, between: tuple[int, int], held: Select[Any] | None = None
    ) -> Sequence[Sequence[Any]]:
        """The phase moves of the readable opportunities dated in ``[since, until)``
        (microseconds since 1970), counted per phase, move and reopening; with ``held``
        (the ids the filters kept at the report's instant), only those opportunities'."""
        move = PhaseMove
        keys = (move.phase, move.move, move.reopened)
        since, until = between
        query = (
            select(*keys, func.count())
            .select_from(move)
            .where(move.at_us >= since, move.at_us < until)
        )
        if held is not None:
            query = query.where(tested_in(move.opportunity_id, held, self.session))
        query = self._summary_readable(query, move.opportunity_id, filters)
        return self.session.connection().execute(query.group_by(*keys)).all()

    def cohort_now(
        self, filters: FunnelFilters, window: Period, first_phase: str | None, *, entered: bool
    ) -> Sequence[Sequence[Any]]:
        """The readable opportunities of a cohort as they are now (created in ``window``, or
        with their first entry into ``first_phase`` in it): one row per member, the phases
        it entered in time order joined by ``|``, None when it entered none, then a count of
        one (``funnels.cohort_of_members``)."""
        record = Opportunity
        query = select(
            record.state,
            record.estimated_value,
            record.probability,
            record.process_key,
            record.active_stage,
            entries_joined(self.session, record.id),
            literal_column("1"),
        ).where(
            cohort_membership(window, first_phase, entered=entered),
            self.grants().scope(),
            *self._filter_conditions(filters),
        )
        return self._driver_rows(query, money_at=1)

    def _summary_readable(
        self,
        query: Select[*Columns],
        opportunity_id: Any,
        filters: FunnelFilters,
        *records: ColumnElement[bool],
    ) -> Select[*Columns]:
        """``query`` over a summary table's rows of the opportunities the actor reads, with
        the filters as they apply now: each row tested against the ids of the records kept
        (:func:`tested_in`, decision 0036), ``records`` (what is known of them) said first;
        nothing tested when the actor reads every record and no filter is asked."""
        if self._reads_all(filters):
            return query
        conditions = self._filter_conditions(filters)
        ids = readable_ids(self.session, self.grants(), *(records or (EVERY_STATE,)), *conditions)
        return query.where(tested_in(opportunity_id, ids, self.session))

    def _reads_all(self, filters: FunnelFilters) -> bool:
        """Whether the actor reads every record and no filter is asked of them."""
        organization = self.actor.depth("opportunity", "read") == Depth.ORGANIZATION
        return organization and not self._filter_conditions(filters)

    def stale(
        self, filters: FunnelFilters, cutoffs: StaleCutoffs, limit: int
    ) -> tuple[list[StaleRecord], int]:
        """Open readable opportunities in their stage since before its cutoff, or idle (no
        change, note or file) since before it: the most idle first, and how many there are.
        The stale are found and counted from the partial index that covers every open
        record's stage, entry and last change (migration 0019); only the page's rows are
        read."""
        now = self._open_with_activity(filters)
        active = _greatest(now.c.modified_at, now.c.noted_at, now.c.filed_at).label("active_at")
        stage = (now.c.process_key, now.c.active_stage)
        late = or_(*cutoffs.late(now.c.entered_at, stage), *cutoffs.late(active, stage))
        total = func.count().over().label("total")
        columns = [c for c in now.c if c.key not in ("modified_at", "noted_at", "filed_at")]
        page = select(*columns, active, total).where(late).order_by(active, now.c.id).limit(limit)
        rows = self.session.execute(_named(page.subquery("page"))).all()
        return [StaleRecord(*row[:8]) for row in rows], rows[0].total if rows else 0

    def _open_with_activity(self, filters: FunnelFilters) -> CTE:
        """The open readable opportunities with when they entered their stage and their last
        change, note and file. Materialized: each is read once. Written in place, they were
        read again in every stage's condition and in the count: on PostgreSQL, which does
        not share a correlated subquery between the places it stands, 11 s at 100,000."""
        found = select(
            Opportunity.id,
            Opportunity.process_key,
            Opportunity.active_stage,
            Opportunity.stage_entered_at.label("entered_at"),
            Opportunity.modified_at,
            _last_note().label("noted_at"),
            _last_file().label("filed_at"),
        ).where(
            read_scope(self.actor, Opportunity),
            # Written out, not bound: the planner matches it to the partial index's condition.
            Opportunity.state == literal_column("'open'"),
            *self._filter_conditions(filters),
        )
        return found.cte("stale_now").prefix_with("MATERIALIZED")

    def board_cards(self, filters: FunnelFilters, phase: str, limit: int) -> list[Opportunity]:
        """The first open opportunities of one phase by close date (undated last): their ids
        from an index range each (migration 0027), so a phase of 100,000 cards costs as
        little as one of ten, then those records."""
        kept = (
            self.grants().scope(),
            *self._conditions(filters),
            Opportunity.pipeline_phase == phase,
        )
        base = select(Opportunity.id).where(*kept)
        dated = base.where(Opportunity.estimated_close_date.is_not(None))
        order = (Opportunity.estimated_close_date, Opportunity.id)
        ids: list[uuid.UUID] = list(self.session.scalars(dated.order_by(*order).limit(limit)))
        if len(ids) < limit:
            undated = base.where(Opportunity.estimated_close_date.is_(None))
            rest = undated.order_by(Opportunity.id).limit(limit - len(ids))
            ids.extend(self.session.scalars(rest))
        return opportunities_in_order(self.session, ids, *kept)

    def users_of_unit(self, business_unit_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return frozenset(self.session.scalars(owners_in(business_unit_id)))

    def _conditions(self, filters: FunnelFilters) -> list[ColumnElement[bool]]:
        return [Opportunity.state == "open", *self._filter_conditions(filters)]

    def _filter_conditions(self, filters: FunnelFilters) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if filters.owner_id:
            found.append(Opportunity.owner_id == filters.owner_id)
        if filters.business_unit_id:
            found.append(Opportunity.owner_id.in_(owners_in(filters.business_unit_id)))
        if filters.process_key:
            found.append(Opportunity.process_key == filters.process_key)
        if filters.close_from:
            found.append(Opportunity.estimated_close_date >= filters.close_from)
        if filters.close_to:
            found.append(Opportunity.estimated_close_date <= filters.close_to)
        return found


def _stays_of(by_stage: dict[tuple[str, str], list[int]]) -> Iterator[StageStays]:
    """Each stage's stays from their walking keys; a stage none entered is left out."""
    for (process, stage), keys in by_stage.items():
        if keys:
            ended = [key for key in keys if not key & 1]
            yield StageStays(process, stage, keys, len(ended), sum(ended) >> 1)


def _stage_code(known: Sequence[tuple[str, str]]) -> ColumnElement[Any]:
    """A stint's index in ``known`` by its process and stage, NULL for any other: a CASE on
    the process, then on the stage (one comparison a pair was slower than the two texts)."""
    if not known:
        return null()
    by_process: dict[str, dict[str, int]] = defaultdict(dict)
    for index, (process, stage) in enumerate(known):
        by_process[process][stage] = index
    stages = {key: case(codes, value=StageStint.stage) for key, codes in by_process.items()}
    return case(stages, value=_STINT_PROCESS)


# A stint's process as time in stage names it (a lead's stints have none).
_STINT_PROCESS = func.coalesce(StageStint.process_key, "")
# Every record is open, won or lost: said, the planner reads the ids of the readable ones from
# the index on state, unit, owner and id, without a table row.
EVERY_STATE = Opportunity.state.in_(("open", *CLOSED_STATES))


def readable_ids(session: Session, grants: Grants, *conditions: ColumnElement[bool]) -> Select[Any]:
    """The ids of the readable records meeting ``conditions``: one query per way the actor
    reaches them (``Grants.ways``), so that a unit's ids are read from the index on state,
    unit, owner and id, where one ``OR`` of the ways scanned all of it (0.31 against 0.14 s
    for a unit's 250,000 ids at 1M).

    On PostgreSQL the ways are joined by ``UNION``, not ``UNION ALL``: the planner then
    knows how many ids there are, where it took the distinct ids of a ``UNION ALL`` for 200
    and probed a summary's key once per id (the statement of a salesperson's open deals in
    the forecast as of a past instant at 1M: 2.0 against 0.75 s). The union is built whole
    before the join, which decision 0023 found slower for the lists of records; here the
    join reads a range of a summary against every id anyway. SQLite keeps or tests them as
    a set."""
    found = [select(Opportunity.id).where(*conditions, way) for way in grants.ways()]
    if not found:
        return select(Opportunity.id).where(false())
    if len(found) == 1:
        return found[0]
    joined = union_all if session.get_bind().dialect.name == "sqlite" else union
    return select(joined(*found).subquery().c[0])


def kept_by(scope: Scope, table: Any) -> list[ColumnElement[bool]]:
    """The filters of ``scope`` on the owner and process a summary's row holds as the log's
    text (a span, a closed deal's row)."""
    kept: list[ColumnElement[bool]] = []
    if scope.owner_id is not None:
        kept.append(table.owner_id == encode(scope.owner_id))
    if scope.owners is not None:
        kept.append(table.owner_id.in_(sorted(str(owner) for owner in scope.owners)))
    if scope.process is not None:
        kept.append(table.process_key == scope.process)
    return kept


def tested_in(column: Any, ids: Select[Any], session: Session) -> ColumnElement[bool]:
    """``column IN (ids)``, which SQLite answers by scanning the summary's index over the
    period asked and testing each row against the ids, read once. Written ``+column`` there:
    joined, or left to choose, SQLite started from the records (a quarter of them for a
    unit's salesperson), reading each one's table row, then its summary rows by key
    (decision 0036). On SQLite the ids are kept once per transaction (``kept_ids``): a
    report that tests two statements' rows against them builds their list once."""
    if session.get_bind().dialect.name != "sqlite":
        found: ColumnElement[bool] = column.in_(ids)
        return found
    found = unindexed(column, session).in_(kept_ids.kept(session, ids))
    return found


def unindexed(column: Any, session: Session) -> Any:
    """``column`` as SQLite's planner will not look it up in an index (``+column``), so
    that it reads the index a query's other condition ranges over; the column elsewhere."""
    if session.get_bind().dialect.name != "sqlite":
        return column
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def cohort_membership(
    window: Period, first_phase: str | None, *, entered: bool, until: int | None = None
) -> ColumnElement[bool]:
    """A record of the cohort: created in ``window``, or with its first entry into
    ``first_phase`` in it (and, ``until`` given, before that instant, in microseconds)."""
    record = Opportunity
    if not entered:
        return and_(record.created_at >= window.start, record.created_at < window.end)
    since, end = microseconds(window.start), microseconds(window.end)
    return record.id.in_(_first_entered(first_phase or "", since, min(end, until or end)))


def _first_entered(phase: str, since: int, until: int) -> Select[Any]:
    """The opportunities whose first entry into ``phase`` is in ``[since, until)``
    (microseconds): an entry in it (the period index), none before (their own moves, by
    their key)."""
    move = PhaseMove
    earlier = aliased(PhaseMove, name="earlier")
    before = exists().where(
        earlier.opportunity_id == move.opportunity_id,
        earlier.at_us < since,
        earlier.phase == phase,
        earlier.move == "entry",
    )
    return select(move.opportunity_id).where(
        move.at_us >= since,
        move.at_us < until,
        move.phase == phase,
        move.move == "entry",
        ~before,
    )


def entries_joined(
    session: Session, opportunity_id: Any, until: int | None = None
) -> ScalarSelect[Any]:
    """The phases an opportunity entered (before ``until``, in microseconds, if given), in
    time order, joined by ``|``: one row per cohort member made by the database (a row per
    entry, grouped in Python, was half the cohort's time at 1M). SQLite 3.40 has no ordered
    aggregate; it concatenates in the order it reads the member's entries, that of the index
    on (opportunity, move, time) or of the key (opportunity, time), both in time order (the
    property tests' backdated histories write entries out of that order)."""
    entry = PhaseMove
    phases: ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        joiner = literal(PHASE_SEPARATOR)
        phases = func.string_agg(entry.phase, aggregate_order_by(joiner, entry.at_us))
    else:
        phases = func.group_concat(entry.phase, PHASE_SEPARATOR)
    conditions = [entry.opportunity_id == opportunity_id, entry.move == "entry"]
    if until is not None:
        conditions.append(entry.at_us < until)
    return select(phases).where(*conditions).scalar_subquery()


def _competitor_of_loss() -> ScalarSelect[Any]:
    """The competitor named on a closed deal's completed close record as lost (a reopen
    cancels the record, so there is one at most)."""
    close = OpportunityClose
    return (
        select(Competitor.name)
        .join(close, close.competitor_id == Competitor.id)
        .where(
            close.opportunity_id == ClosedDeal.opportunity_id,
            close.status == "completed",
            close.outcome == "lost",
        )
        .limit(1)
        .scalar_subquery()
    )


def _named(page: Subquery) -> Select[Any]:
    """The stale page's rows with each record's name, owner and phase (``StaleRecord``'s
    order, then the total): the only table rows the stale report of now reads."""
    record = Opportunity
    return (
        select(
            page.c.id,
            record.name,
            record.owner_id,
            page.c.process_key,
            page.c.active_stage,
            record.pipeline_phase,
            page.c.entered_at,
            page.c.active_at,
            page.c.total,
        )
        .join(record, record.id == page.c.id)
        .order_by(page.c.active_at, page.c.id)
    )


def _with_money(
    rows: Sequence[Sequence[Any]], at: int, money: Callable[[Any], Decimal | None]
) -> list[tuple[Any, ...]]:
    """The rows with the driver's value at ``at`` converted by ``money``, once per value:
    the rows of one opportunity (one per phase entry) share theirs."""
    values: dict[Any, Decimal | None] = {None: None}

    def value_of(raw: Any) -> Decimal | None:
        if raw not in values:
            values[raw] = money(raw)
        return values[raw]

    return [(*row[:at], value_of(row[at]), *row[at + 1 :]) for row in rows]


def _last_note() -> ScalarSelect[Any]:
    return select(func.max(Note.at)).where(Note.opportunity_id == Opportunity.id).scalar_subquery()


def _last_file() -> ScalarSelect[Any]:
    query = select(func.max(OpportunityFile.created_at))
    return query.where(OpportunityFile.opportunity_id == Opportunity.id).scalar_subquery()


def _greatest(*values: Any) -> ColumnElement[datetime]:
    # GREATEST on PostgreSQL, multi-argument MAX on SQLite; NULLs (no note, no file) ignored.
    first, *others = values
    found: ColumnElement[datetime] = first
    for other in others:
        found = case((other.is_not(None) & (other > found), other), else_=found)
    return found


@dataclass(frozen=True)
class StaleRecord:
    opportunity_id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    process_key: str | None
    active_stage: str | None
    pipeline_phase: str | None
    entered_stage_at: datetime | None
    last_activity_at: datetime | None


@dataclass(frozen=True)
class StaleCutoffs:
    """Per stage, the instant before which an entry or an activity is stale; the default
    cutoff for every other stage (None where staleness is off)."""

    by_stage: dict[tuple[str, str], datetime | None]
    default: datetime | None

    def late(
        self, moment: ColumnElement[datetime], where: tuple[Any, Any] | None = None
    ) -> list[ColumnElement[bool]]:
        """``moment`` before its stage's cutoff; the stage is the record's process and stage
        columns, or ``where`` (those of a past instant)."""
        process, active = where or (Opportunity.process_key, Opportunity.active_stage)
        found: list[ColumnElement[bool]] = []
        for (key, stage), cutoff in self.by_stage.items():
            here = and_(process == key, active == stage)
            if cutoff is not None:
                found.append(and_(here, moment < cutoff))
        if self.default is not None:
            known = [and_(process == key, active == stage) for key, stage in self.by_stage]
            found.append(and_(~or_(*known) if known else True, moment < self.default))
        return found


# Conditions that narrow the timelines a report streams to those that can matter to it; each
# keeps every opportunity the report could count (they are supersets, never filters). They
# read the log under another name, so that they correlate with the opportunity, not with the
# log rows being streamed.
_LOG = aliased(OpportunityChange, name="log")


def created_by(moment: datetime) -> list[ColumnElement[bool]]:
    return [Opportunity.created_at <= moment]


def perhaps_open_at(moment: datetime) -> list[ColumnElement[bool]]:
    """Open now, or its state changed (or was learned) after ``moment``, so it may have been
    open then."""
    changed_since = exists().where(
        _LOG.opportunity_id == Opportunity.id,
        _LOG.field == "state",
        or_(_LOG.effective_at > moment, _LOG.recorded_at > moment),
    )
    return [*created_by(moment), or_(Opportunity.state == "open", changed_since)]


def ever_closed() -> list[ColumnElement[bool]]:
    return [
        exists().where(
            _LOG.opportunity_id == Opportunity.id,
            _LOG.field == "state",
            _LOG.new_value.in_(CLOSED_STATES),
        )
    ]
