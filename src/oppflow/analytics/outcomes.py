"""Win/loss over a close period, and how well stage probabilities predict wins (calibration)."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from oppflow.analytics.durations import days_between
from oppflow.analytics.funnels import CENT, ratio
from oppflow.analytics.options import Period
from oppflow.analytics.schemas import CalibrationRow, ReliabilityBin, Tally, WinLossRow
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import State, Timeline, phase_number

PRIOR_WEIGHT = 10
ENOUGH_HISTORY = 20
PREDICTION_LEAD = timedelta(days=30)
# The fields each report reads (its stream holds only their rows, and the birth).
CALIBRATION_FIELDS = (
    "state", "actual_close_date", "pipeline_phase", "probability", "process_key", "active_stage",
)  # fmt: skip
WIN_LOSS_FIELDS = (
    *CALIBRATION_FIELDS, "actual_value", "estimated_value", "status_reason",
)  # fmt: skip


@dataclass(frozen=True)
class Closed:
    """An opportunity closed at ``as_of``: how, when, and its state then."""

    timeline: Timeline
    state: State
    closed_at: datetime
    cycle_days: Decimal
    won: bool

    def phases_reached(self) -> list[str]:
        return self.timeline.phases_entered(self.closed_at)


def closed_in(timelines: Iterable[Timeline], scope: Scope, period: Period | None) -> list[Closed]:
    """The opportunities closed (won or lost) at ``as_of`` whose close date lies in ``period``."""
    found = []
    for timeline in timelines:
        state = scope.state(timeline)
        closed_at = timeline.closed_at(scope.as_of)
        if state is None or closed_at is None or timeline.born_at is None:
            continue
        if period is not None and not period.holds_day(state["actual_close_date"]):
            continue
        cycle = days_between(timeline.born_at, closed_at)
        found.append(Closed(timeline, state, closed_at, cycle, state["state"] == "won"))
    return found


@dataclass
class WinLoss:
    summary: WinLossRow
    loss_reasons: list[Tally] = field(default_factory=list)
    competitors: list[Tally] = field(default_factory=list)
    phase_before_loss: list[Tally] = field(default_factory=list)


def win_loss(closed: list[Closed], open_count: int, competitors: dict[uuid.UUID, str]) -> WinLoss:
    """Win rates by count and value, sales cycles, velocity, and why deals were lost."""
    won = [c for c in closed if c.won]
    lost = [c for c in closed if not c.won]
    won_value = sum((_closed_value(c) for c in won), Decimal(0))
    lost_value = sum((_closed_value(c) for c in lost), Decimal(0))
    win_rate = ratio(len(won), len(closed))
    mean_won = won_value / len(won) if won else None
    median_won = _median([c.cycle_days for c in won])
    velocity = None
    if mean_won is not None and win_rate is not None and median_won:
        velocity = (open_count * mean_won * Decimal(str(win_rate)) / median_won).quantize(CENT)
    summary = WinLossRow(
        won=len(won),
        lost=len(lost),
        won_value=won_value.quantize(CENT),
        lost_value=lost_value.quantize(CENT),
        win_rate=win_rate,
        win_rate_by_value=ratio(won_value, won_value + lost_value),
        median_cycle_days_won=_days(median_won),
        median_cycle_days_closed=_days(_median([c.cycle_days for c in closed])),
        open=open_count,
        mean_won_value=mean_won.quantize(CENT) if mean_won is not None else None,
        velocity_per_day=velocity,
    )
    return WinLoss(
        summary,
        _tallies(str(c.state["status_reason"]) for c in lost),
        _tallies(competitors[i] for c in lost if (i := c.timeline.opportunity_id) in competitors),
        _tallies(_highest_phase(c) for c in lost),
    )


def _closed_value(closed: Closed) -> Decimal:
    if closed.won and closed.state["actual_value"] is not None:
        return Decimal(closed.state["actual_value"])
    return Decimal(closed.state["estimated_value"] or 0)


def _highest_phase(closed: Closed) -> str:
    """The highest phase actually entered before the close (never one skipped)."""
    return max(closed.phases_reached(), key=phase_number, default="")


def _median(values: list[Decimal]) -> Decimal | None:
    return statistics.median(values) if values else None


def _days(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("0.0001")))


def _tallies(keys: Iterable[str]) -> list[Tally]:
    counted = Counter(keys)
    return [Tally(key=key, count=count) for key, count in sorted(counted.items())]


@dataclass
class Calibration:
    rows: list[CalibrationRow]
    brier_score: float | None
    reliability: list[ReliabilityBin]


def calibration(closed: list[Closed], scope: Scope) -> Calibration:
    """Per phase, the shrunk empirical win rate of the closed deals that reached it; and the
    Brier score and reliability of each deal's probability 30 days before its close."""
    rows = []
    reached_by = [(c, set(c.phases_reached())) for c in closed]  # walked once per deal
    for phase in scope.defaults.phases(scope.process):
        reached = [c for c, phases in reached_by if phase in phases]
        won = sum(c.won for c in reached)
        default = scope.defaults.phase_probability(phase, scope.process)
        prior = Decimal(default if default is not None else 50) / 100
        rate = ratio(won + PRIOR_WEIGHT * prior, len(reached) + PRIOR_WEIGHT)
        rows.append(
            CalibrationRow(
                pipeline_phase=phase,
                won=won,
                lost=len(reached) - won,
                stage_default=default,
                empirical_rate=rate,
                insufficient_history=len(reached) < ENOUGH_HISTORY,
            )
        )
    predictions = [(_predicted(c, scope), c.won) for c in closed]
    return Calibration(rows, _brier(predictions), _reliability(predictions))


def _predicted(closed: Closed, scope: Scope) -> Decimal:
    timeline = closed.timeline
    then = max(closed.closed_at - PREDICTION_LEAD, timeline.born_at or closed.closed_at)
    state = timeline.state_at(then) or closed.state
    return Decimal(scope.defaults.probability(state)) / 100


def _brier(predictions: list[tuple[Decimal, bool]]) -> float | None:
    errors = [(p - (1 if won else 0)) ** 2 for p, won in predictions]
    return ratio(sum(errors, Decimal(0)), len(errors))


def _reliability(predictions: list[tuple[Decimal, bool]]) -> list[ReliabilityBin]:
    bins: list[list[tuple[Decimal, bool]]] = [[] for _ in range(10)]
    for p, won in predictions:
        bins[min(int(p * 10), 9)].append((p, won))
    return [
        ReliabilityBin(
            low=index / 10,
            high=(index + 1) / 10,
            count=len(found),
            mean_predicted=ratio(sum((p for p, _ in found), Decimal(0)), len(found)),
            observed_win_share=ratio(sum(won for _, won in found), len(found)),
        )
        for index, found in enumerate(bins)
    ]
