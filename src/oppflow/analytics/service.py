"""Analytics services: each report resolves its options, lets the repository stream the
timelines the caller may read (narrowed to those that can matter), computes, and names the
convention it applied (ANALYTICS.md §2, §4)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from oppflow.analytics import durations, forecasting, funnels, outcomes, totals
from oppflow.analytics.defaults import Defaults
from oppflow.analytics.history_repository import HistoryRepository, held_at
from oppflow.analytics.lists import ListRepository
from oppflow.analytics.options import (
    CalibrationOptions,
    ConversionOptions,
    ForecastOptions,
    FunnelOptions,
    Period,
    ReportFilters,
    TimeInStageOptions,
    WaterfallOptions,
    as_of,
    last_days,
    moment,
    period,
    quarter_around,
    up_to,
    zone_of,
)
from oppflow.analytics.repository import (
    AnalyticsRepository,
    StaleCutoffs,
    StaleRecord,
    Then,
)
from oppflow.analytics.schemas import (
    CalibrationReport,
    Convention,
    ConversionReport,
    FlowReport,
    ForecastReport,
    ForecastRow,
    Funnel,
    FunnelFilters,
    OpportunitySearch,
    OutcomeTotal,
    OwnerTotal,
    StaleReport,
    StaleRow,
    TimeInStageReport,
    WaterfallReport,
    WinLossReport,
)
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import microseconds
from oppflow.clock import today, utcnow
from oppflow.config import get_settings
from oppflow.errors import ValidationFailed
from oppflow.models import Opportunity
from oppflow.process import catalog
from oppflow.security.actor import Actor

COHORT_DAYS = 90
IDENTITY = "beginning + new + increased - decreased - pulled_out - pushed_out - won - lost = ending"
STALE_ROWS = 200


def defaults(session: Session) -> Defaults:
    """The stage defaults of every process's current definition."""
    definitions = [
        catalog.current_definition(session, process) for process in catalog.list_processes(session)
    ]
    return Defaults.of(definitions, get_settings().stale_after_days)


def _scope(session: Session, actor: Actor, filters: ReportFilters, at: datetime) -> Scope:
    owners = None
    if filters.business_unit_id is not None:
        owners = AnalyticsRepository(session, actor).users_of_unit(filters.business_unit_id)
    return Scope(
        as_of=at,
        defaults=defaults(session),
        owner_id=filters.owner_id,
        owners=owners,
        process=filters.process,
    )


def _convention(filters: ReportFilters, at: datetime, **more: Any) -> Convention:
    found: Convention = {
        "as_of": at.isoformat(),
        "time_zone": filters.tz or "UTC",
        "money": "exact sums, rounded to cents at the end",
        "ratios": "null when the denominator is 0",
    }
    found.update({key: _text(value) for key, value in more.items()})
    return found


def _text(value: Any) -> str | int | bool | None:
    if isinstance(value, Period):
        return f"[{value.start.isoformat()}, {value.end.isoformat()})"
    if isinstance(value, datetime):
        return value.isoformat()
    return value if value is None or isinstance(value, str | int | bool) else str(value)


def _filters_now(options: ReportFilters, **more: Any) -> FunnelFilters:
    """A report's filters as they apply to the records now (owner, unit, process)."""
    return FunnelFilters(
        owner_id=options.owner_id,
        business_unit_id=options.business_unit_id,
        process_key=options.process,
        **more,
    )


def _kept_then(
    options: ReportFilters, scope: Scope, at: datetime
) -> tuple[FunnelFilters, Select[Any] | None]:
    """How a report over a summary keeps its filters: without ``as_of``, on the records as
    they are now; at another instant, on the spans holding it (the owner and process then,
    as a fold of the log reads them; decision 0037)."""
    if options.as_of is None:
        return _filters_now(options), None
    return FunnelFilters(), held_at(at, scope)


# The funnel of now, read from the records themselves (the board and the dashboard use it).


def funnel(session: Session, *, actor: Actor, filters: FunnelFilters) -> Funnel:
    """The funnel of the open opportunities the actor may read, by pipeline phase, now."""
    phases = AnalyticsRepository(session, actor).funnel(filters, defaults(session))
    return Funnel(phases=phases)


def funnel_report(session: Session, *, actor: Actor, options: FunnelOptions) -> Funnel:
    """The snapshot funnel as of any instant, or a cohort funnel (``ordered`` or ``any``)."""
    if options.process_key and not options.process:
        options = options.model_copy(update={"process": options.process_key})
    now = utcnow()
    at = as_of(options, now)
    if options.mode == "snapshot":
        return _snapshot(session, actor, options, at, now)
    return _cohort_funnel(session, actor, options, at)


def _snapshot(
    session: Session, actor: Actor, options: FunnelOptions, at: datetime, now: datetime
) -> Funnel:
    probability_source = "own probability, else the stage default"
    convention = _convention(
        options,
        at,
        mode="snapshot",
        probability_source=probability_source,
        knowledge=options.known,
    )
    if at >= now and options.known == "effective":
        filters = _filters_now(options, close_from=options.close_from, close_to=options.close_to)
        return Funnel(
            convention=convention, phases=funnel(session, actor=actor, filters=filters).phases
        )
    scope = _scope(session, actor, options, at)
    known_at = at if options.known == "recorded" else None
    fields = [*funnels.SNAPSHOT_FIELDS, *scope.fields()]
    if not (options.close_from or options.close_to):
        fields.remove("estimated_close_date")  # so that more states are alike
    states = HistoryRepository(session, actor).states_at(at, known_at, fields)
    phases = funnels.snapshot(states, scope, options.close_from, options.close_to)
    return Funnel(convention=convention, phases=phases)


def _cohort(
    session: Session, actor: Actor, options: FunnelOptions | ConversionOptions, at: datetime
) -> tuple[list[funnels.CohortPhase], Convention]:
    window = period(options, last_days(at, COHORT_DAYS))
    entered = options.cohort == "entered"
    scope = _scope(session, actor, options, at)
    first = next(iter(scope.defaults.phases(scope.process)), None)
    members: Iterable[Sequence[Any]]
    if options.as_of is None:
        # Of now: the members as they are now and the phase moves kept (decision 0033).
        repository = AnalyticsRepository(session, actor)
        members = repository.cohort_now(_filters_now(options), window, first, entered=entered)
    else:
        # At another instant: each member's span then and its moves by then (decision 0037).
        history = HistoryRepository(session, actor)
        members = history.cohort_at(at, window, first, scope, entered=entered)
    phases = funnels.cohort_of_members(members, scope, mode=options.mode)
    convention = _convention(
        options,
        at,
        mode=options.mode,
        cohort=options.cohort,
        period=window,
        reached="a skipped phase is never counted as reached",
    )
    return phases, convention


def _cohort_funnel(session: Session, actor: Actor, options: FunnelOptions, at: datetime) -> Funnel:
    phases, convention = _cohort(session, actor, options, at)
    return Funnel(convention=convention, phases=[p.total.row(p.phase) for p in phases])


def conversion(session: Session, *, actor: Actor, options: ConversionOptions) -> ConversionReport:
    """Next-step, cumulative and win rates of a cohort funnel."""
    phases, convention = _cohort(session, actor, options, as_of(options, utcnow()))
    return ConversionReport(convention=convention, rows=funnels.conversion(phases))


def flow(session: Session, *, actor: Actor, options: ReportFilters) -> FlowReport:
    """Entries into each phase in ``[from, to)`` and exits by destination."""
    at = as_of(options, utcnow())
    window = period(options, last_days(at, COHORT_DAYS))
    scope = _scope(session, actor, options, at)
    # The phase moves kept for it (decisions 0033, 0037).
    between = (microseconds(window.start), min(microseconds(window.end), microseconds(at) + 1))
    filters, held = _kept_then(options, scope, at)
    moves = AnalyticsRepository(session, actor).phase_moves_counted(filters, between, held)
    rows = funnels.flow_of_moves(moves, scope)
    convention = _convention(options, at, period=window, filters_apply_at="as_of")
    return FlowReport(convention=convention, rows=rows)


def time_in_stage(
    session: Session, *, actor: Actor, options: TimeInStageOptions
) -> TimeInStageReport:
    """Per stage: median stay (open stints censored), mean of completed stays, counts."""
    at = as_of(options, utcnow())
    window = period(options, last_days(at, COHORT_DAYS))
    scope = _scope(session, actor, options, at)
    # The stints kept for it (decisions 0032, 0037).
    now_us = microseconds(at)
    entered = (microseconds(window.start), min(microseconds(window.end), now_us + 1))
    filters, held = _kept_then(options, scope, at)
    cumulative = options.measure == "cumulative"
    stays = AnalyticsRepository(session, actor).stays(
        filters,
        entered,
        now_us,
        cumulative=cumulative,
        held=held,
        known=list(scope.defaults.stages),
    )
    rows = durations.time_in_stage_of_stays(stays, scope)
    convention = _convention(
        options,
        at,
        measure=options.measure,
        period=window,
        stints="entered in the period",
        aggregate="Kaplan-Meier median, open stints censored at as_of",
    )
    return TimeInStageReport(convention=convention, rows=rows)


def stale(session: Session, *, actor: Actor, options: ReportFilters) -> StaleReport:
    """Open opportunities too long in their stage or idle too long at ``as_of`` (default
    now), the most idle first."""
    now = utcnow()
    at = as_of(options, now)
    found = defaults(session)
    cutoffs = StaleCutoffs(
        by_stage={
            stage: _cutoff(at, d.stale_after_days, found) for stage, d in found.stages.items()
        },
        default=_cutoff(at, None, found),
    )
    # An instant asked for, past or future, is read from the change log, which dates each
    # change when it took effect (an imported record's, long before it was written here);
    # without one, the records as they are now. A future instant reads the state now, its
    # days counted to that instant: what will be stale by then if nothing moves.
    from_log = options.as_of is not None
    if from_log:
        records, total = _stale_then(session, actor, options, at, cutoffs)
    else:
        repository = AnalyticsRepository(session, actor)
        records, total = repository.stale(_filters_now(options), cutoffs, STALE_ROWS)
    rows = [_stale_row(record, at, found) for record in records]
    convention = _convention(
        options,
        at,
        default_threshold_days=found.stale_after_days,
        total=total,
        shown=len(rows),
        idle="no change, note or file",
        thresholds="stale_after_days per stage",
        read_from="the change log at as_of" if from_log else "the records now",
    )
    return StaleReport(convention=convention, rows=rows)


def _stale_then(
    session: Session, actor: Actor, options: ReportFilters, at: datetime, cutoffs: StaleCutoffs
) -> tuple[list[StaleRecord], int]:
    """The stale opportunities at a past instant, filtered by their owner and process then."""
    owners: frozenset[uuid.UUID] | None = None
    if options.business_unit_id is not None:
        owners = AnalyticsRepository(session, actor).users_of_unit(options.business_unit_id)
    if options.owner_id is not None:
        owners = frozenset(
            {options.owner_id} & owners if owners is not None else {options.owner_id}
        )
    repository = HistoryRepository(session, actor)
    return repository.stale_at(at, cutoffs, STALE_ROWS, owners, options.process)


def _cutoff(now: datetime, days: int | None, found: Defaults) -> datetime | None:
    days = found.stale_after_days if days is None else days
    return now - timedelta(days=days) if days else None


def _stale_row(record: Any, now: datetime, found: Defaults) -> StaleRow:
    threshold = found.stale_after_days
    stage = found.stages.get((record.process_key, record.active_stage))
    if stage is not None and stage.stale_after_days is not None:
        threshold = stage.stale_after_days
    in_stage = (now - record.entered_stage_at).days if record.entered_stage_at else 0
    idle = (now - record.last_activity_at).days if record.last_activity_at else 0
    return StaleRow(
        opportunity_id=record.opportunity_id,
        name=record.name,
        owner_id=record.owner_id,
        process=record.process_key,
        stage=record.active_stage,
        pipeline_phase=record.pipeline_phase,
        days_in_stage=in_stage,
        days_idle=idle,
        threshold_days=threshold,
        stale_in_stage=bool(threshold) and in_stage >= threshold,
        idle=bool(threshold) and idle >= threshold,
    )


def forecast(session: Session, *, actor: Actor, options: ForecastOptions) -> ForecastReport:
    """Open (by estimated close month) and won (by actual close month) value per category."""
    at = as_of(options, utcnow())
    asked = options.from_ or options.to
    # Either end alone leaves the other open (15 years away), never a one-day window.
    around = Period(at - timedelta(days=365 * 15), at + timedelta(days=365 * 15))
    window = period(options, around) if asked else None
    if options.as_of is None and window is None:
        rows = _forecast_now(session, actor, options)
    else:
        # The open and won spans holding the instant (decision 0037).
        scope = _scope(session, actor, options, at)
        history = HistoryRepository(session, actor)
        days = window.days() if window else None
        open_fields = [*forecasting.FORECAST_OPEN_FIELDS, *scope.fields()]
        won_fields = [*forecasting.FORECAST_WON_FIELDS, *scope.fields()]
        states = chain(
            history.spans_at(at, open_fields, close_days=days),
            history.spans_at(at, won_fields, "won", close_days=days),
        )
        rows = forecasting.forecast(states, scope, rollup=options.rollup)
    convention = _convention(
        options,
        at,
        rollup=options.rollup,
        period=window or "all months",
        month="estimated close month when open, actual close month when won",
        omitted="never counts",
        weighted="value x (own probability, else the stage default)",
    )
    return ForecastReport(convention=convention, rows=rows)


def _forecast_now(session: Session, actor: Actor, options: ForecastOptions) -> list[ForecastRow]:
    """The forecast of now, from the maintained totals."""
    parts = AnalyticsRepository(session, actor).summed(_filters_now(options), totals.FORECAST)
    return forecasting.forecast_of_totals(parts, defaults(session), rollup=options.rollup)


def waterfall(session: Session, *, actor: Actor, options: WaterfallOptions) -> WaterfallReport:
    """How the pipeline closing in ``[from, to)`` moved between ``start`` and ``as_of``."""
    now = utcnow()
    at = as_of(options, now)
    zone = zone_of(options)
    close = period(options, quarter_around(at, zone))
    start = moment(options.start, zone) if options.start else min(close.start, at)
    if start > at:
        raise ValidationFailed("'start' must not come after 'as_of'.", field="start")
    scope = _scope(session, actor, options, at)
    fields = list(dict.fromkeys((*forecasting.WATERFALL_FIELDS, *scope.fields())))
    repository = HistoryRepository(session, actor)
    states = repository.states_closing_in(start, at, close.days(), fields, with_ids=options.details)
    rows = forecasting.waterfall(states, fields, scope, close, details=options.details)
    convention = _convention(
        options,
        at,
        close_period=close,
        start=start,
        identity=IDENTITY,
    )
    return WaterfallReport(convention=convention, rows=rows)


def win_loss(session: Session, *, actor: Actor, options: ReportFilters) -> WinLossReport:
    """Win rates, cycles, velocity and loss reasons over the deals closed in ``[from, to)``."""
    now = utcnow()
    at = as_of(options, now)
    window = period(options, quarter_around(at, zone_of(options)))
    deals = _deals_closed(session, actor, options, at, window)
    found = outcomes.win_loss(deals, _open_count(session, actor, options, at, now))
    convention = _convention(
        options,
        at,
        period=window,
        closed_by="actual close date",
        cycle="creation to close, days",
        velocity="open x mean won value x win rate / median won cycle",
    )
    return WinLossReport(
        convention=convention,
        rows=[found.summary],
        loss_reasons=found.loss_reasons,
        competitors=found.competitors,
        phase_before_loss=found.phase_before_loss,
    )


def _deals_closed(
    session: Session, actor: Actor, options: ReportFilters, at: datetime, window: Period
) -> list[outcomes.Deal]:
    then = _then(options, lambda: _scope(session, actor, options, at))
    repository = AnalyticsRepository(session, actor)
    rows = repository.closed_deals(_closed_filters(options, then), window.days(), then)
    return outcomes.deals_of(rows)


def _then(options: ReportFilters, scope: Callable[[], Scope]) -> Then | None:
    """The instant win/loss and calibration read the closed deals at (decision 0038): none
    without ``as_of`` (the rows that hold now), else ``as_of`` with the scope that keeps
    the rows by the owner and process they held then."""
    if options.as_of is None:
        return None
    found = scope()
    return Then(microseconds(found.as_of), found)


def _closed_filters(options: ReportFilters, then: Then | None) -> FunnelFilters:
    # Now, the filters apply to the records; at another instant, to the rows (``then``).
    return _filters_now(options) if then is None else FunnelFilters()


def _open_count(
    session: Session, actor: Actor, options: ReportFilters, at: datetime, now: datetime
) -> int:
    # The same ``now`` as the report's: without as_of, the open deals come from the
    # maintained totals (a later clock would read the spans as of an instant just past);
    # before it, counted from the open spans (a snapshot funnel summed them: 0.4 s at 1M).
    if at >= now:
        snapshot = _snapshot(session, actor, FunnelOptions(**_filters_of(options)), at, now)
        return sum(phase.count for phase in snapshot.phases)
    scope = _scope(session, actor, options, at)
    return HistoryRepository(session, actor).open_count_at(at, scope)


def _filters_of(options: ReportFilters) -> dict[str, Any]:
    return options.model_dump(include=set(ReportFilters.model_fields), by_alias=True)


def calibration(
    session: Session, *, actor: Actor, options: CalibrationOptions
) -> CalibrationReport:
    """Shrunk empirical stage-to-win rates, and the Brier score of the probabilities used."""
    at = as_of(options, utcnow())
    window = up_to(options, at)
    scope = _scope(session, actor, options, at)
    deals = _deals_scored(session, actor, options, scope, window)
    found = outcomes.calibration(deals, scope)
    convention = _convention(
        options,
        at,
        period=window or "all closed",
        prior_weight=outcomes.PRIOR_WEIGHT,
        insufficient_below=outcomes.ENOUGH_HISTORY,
        prediction="probability 30 days before close",
    )
    return CalibrationReport(
        convention=convention,
        rows=found.rows,
        closed=sum(deal.count for deal in deals),
        brier_score=found.brier_score,
        reliability=found.reliability,
    )


def _deals_scored(
    session: Session, actor: Actor, options: ReportFilters, scope: Scope, window: Period | None
) -> list[outcomes.Scored]:
    then = _then(options, lambda: scope)
    days = window.days() if window else None
    repository = AnalyticsRepository(session, actor)
    groups = repository.closed_deals_grouped(_closed_filters(options, then), days, then)
    return outcomes.scored_of_groups(groups, scope.defaults)


def pipeline_by_owner(
    session: Session, *, actor: Actor, filters: FunnelFilters
) -> list[OwnerTotal]:
    """The open pipeline the actor may read, per owner, the largest first."""
    return AnalyticsRepository(session, actor).pipeline_by_owner(filters, defaults(session))


def board_cards(
    session: Session, *, actor: Actor, filters: FunnelFilters, phase: str, limit: int
) -> list[Opportunity]:
    """The first ``limit`` open opportunities of ``phase`` the actor reads, by close date."""
    return AnalyticsRepository(session, actor).board_cards(filters, phase, limit)


def quarter_of(day: date) -> tuple[date, date]:
    """The first and last day of the calendar quarter of ``day``."""
    start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)
    return start, following - timedelta(days=1)


def outcomes_this_quarter(
    session: Session, *, actor: Actor, filters: FunnelFilters
) -> dict[str, OutcomeTotal]:
    """Won and lost opportunities closed this quarter, by state."""
    start, end = quarter_of(today())
    rows = AnalyticsRepository(session, actor).outcomes(filters, start, end)
    found: dict[str, OutcomeTotal] = {
        "won": OutcomeTotal(state="won", count=0, value=Decimal(0)),
        "lost": OutcomeTotal(state="lost", count=0, value=Decimal(0)),
    }
    found.update({row.state: row for row in rows})
    return found


def search_opportunities(
    session: Session, *, actor: Actor, search: OpportunitySearch
) -> tuple[list[Opportunity], int]:
    """One page of a list view of the opportunities the actor may read, and the view's size."""
    return ListRepository(session, actor).search(search, actor.user_id)
