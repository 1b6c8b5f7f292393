"""Win/loss over a close period, and how well stage probabilities predict wins (calibration)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from oppflow.analytics.defaults import Defaults
from oppflow.analytics.durations import MICROSECONDS_A_DAY
from oppflow.analytics.funnels import CENT, ratio
from oppflow.analytics.schemas import CalibrationRow, ReliabilityBin, Tally, WinLossRow
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import PHASE_SEPARATOR, State, phase_number

PRIOR_WEIGHT = 10
ENOUGH_HISTORY = 20
PREDICTION_LEAD = timedelta(days=30)
CLOSED_STATES = ("won", "lost")
# A closed deal's state 30 days before its close, as ``Defaults.probability`` reads it.
OUTLOOK_FIELDS = ("state", "probability", "process_key", "active_stage")
# The fields each report reads (its stream holds only their rows, and the birth).
CALIBRATION_FIELDS = (
    "state", "actual_close_date", "pipeline_phase", "probability", "process_key", "active_stage",
)  # fmt: skip
WIN_LOSS_FIELDS = (
    *CALIBRATION_FIELDS, "actual_value", "estimated_value", "status_reason",
)  # fmt: skip


class Deal(NamedTuple):
    """A closed deal as win/loss reads it from its closed-deal row (a tuple: at 1M
    opportunities a quarter holds about 90,000 of them)."""

    won: bool
    # Birth to close, exactly: converted to days only for the medians.
    cycle_microseconds: int
    value: Decimal
    status_reason: str
    highest_phase: str
    # The competitor a loss went to, where its close record names one.
    lost_to: str | None = None


def deals_of(rows: Iterable[Sequence[Any]]) -> list[Deal]:
    """Closed-deal rows (outcome, cycle in microseconds, value text, reason, phases reached
    text, competitor of a loss) as win/loss reads deals."""
    return [
        Deal(bool(won), cycle, Decimal(value), str(reason), _highest_of_text(phases), lost_to)
        for won, cycle, value, reason, phases, lost_to in rows
    ]


@functools.lru_cache(maxsize=4096)
def _highest_of_text(phases: str) -> str:
    # Phases reached repeat from deal to deal: each text is read once.
    return highest_phase(phases_of(phases))


def phases_of(text: str) -> list[str]:
    """The phases of a closed-deal row's ``phases_reached`` text."""
    return text.split(PHASE_SEPARATOR) if text else []


def closed_value(won: bool, actual: Decimal | None, estimated: Decimal | None) -> Decimal:
    """What a closed deal is worth: its actual value when won and given, else its estimate."""
    if won and actual is not None:
        return Decimal(actual)
    return Decimal(estimated or 0)


def highest_phase(phases_reached: Iterable[str]) -> str:
    """The highest phase actually entered before the close (never one skipped)."""
    return max(phases_reached, key=phase_number, default="")


def outlook_instant(closed_at: datetime, born_at: datetime) -> datetime:
    """When a deal's probability is taken to score it: 30 days before its close, or its
    birth if it was younger."""
    return max(closed_at - PREDICTION_LEAD, born_at)


@dataclass
class WinLoss:
    summary: WinLossRow
    loss_reasons: list[Tally] = field(default_factory=list)
    competitors: list[Tally] = field(default_factory=list)
    phase_before_loss: list[Tally] = field(default_factory=list)


def win_loss(deals: list[Deal], open_count: int) -> WinLoss:
    """Win rates by count and value, sales cycles, velocity, and why deals were lost."""
    won = [d for d in deals if d.won]
    lost = [d for d in deals if not d.won]
    won_value = sum((d.value for d in won), Decimal(0))
    lost_value = sum((d.value for d in lost), Decimal(0))
    win_rate = ratio(len(won), len(deals))
    mean_won = won_value / len(won) if won else None
    median_won = _median_days([d.cycle_microseconds for d in won])
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
        median_cycle_days_closed=_days(_median_days([d.cycle_microseconds for d in deals])),
        open=open_count,
        mean_won_value=mean_won.quantize(CENT) if mean_won is not None else None,
        velocity_per_day=velocity,
    )
    return WinLoss(
        summary,
        _tallies(d.status_reason for d in lost),
        _tallies(d.lost_to for d in lost if d.lost_to is not None),
        _tallies(d.highest_phase for d in lost),
    )


def _median_days(microseconds: list[int]) -> Decimal | None:
    """The median cycle in exact days. Only the middle values are converted: days grow with
    microseconds, so they are the middle days, and the median of two is their mean."""
    if not microseconds:
        return None
    ordered = sorted(microseconds)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return _in_days(ordered[middle])
    return (_in_days(ordered[middle - 1]) + _in_days(ordered[middle])) / 2


def _in_days(microseconds: int) -> Decimal:
    return Decimal(microseconds) / MICROSECONDS_A_DAY


def _days(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("0.0001")))


def _tallies(keys: Iterable[str]) -> list[Tally]:
    counted = Counter(keys)
    return [Tally(key=key, count=count) for key, count in sorted(counted.items())]


@dataclass(frozen=True)
class Scored:
    """``count`` closed deals alike for calibration: won or lost, the phases they reached and
    the probability they had 30 days before closing."""

    won: bool
    reached: frozenset[str]
    predicted: Decimal
    count: int = 1


def scored_of_groups(groups: Iterable[Sequence[Any]], defaults: Defaults) -> list[Scored]:
    """Closed-deal rows counted per (outcome, phases reached, state 30 days before: state,
    own probability, process, stage) as calibration scores them; the probability then is
    the deal's own, else its stage's default now."""
    found = []
    for won, phases, *outlook, count in groups:
        state = State(dict(zip(OUTLOOK_FIELDS, outlook, strict=True)))
        predicted = Decimal(defaults.probability(state)) / 100
        found.append(Scored(won, frozenset(phases_of(phases)), predicted, count))
    return found


@dataclass
class Calibration:
    rows: list[CalibrationRow]
    brier_score: float | None
    reliability: list[ReliabilityBin]


def calibration(deals: list[Scored], scope: Scope) -> Calibration:
    """Per phase, the shrunk empirical win rate of the closed deals that reached it; and the
    Brier score and reliability of each deal's probability 30 days before its close."""
    rows = []
    for phase in scope.defaults.phases(scope.process):
        reached = sum(d.count for d in deals if phase in d.reached)
        won = sum(d.count for d in deals if d.won and phase in d.reached)
        default = scope.defaults.phase_probability(phase, scope.process)
        prior = Decimal(default if default is not None else 50) / 100
        rate = ratio(won + PRIOR_WEIGHT * prior, reached + PRIOR_WEIGHT)
        rows.append(
            CalibrationRow(
                pipeline_phase=phase,
                won=won,
                lost=reached - won,
                stage_default=default,
                empirical_rate=rate,
                insufficient_history=reached < ENOUGH_HISTORY,
            )
        )
    return Calibration(rows, _brier(deals), _reliability(deals))


def _brier(deals: list[Scored]) -> float | None:
    errors = [d.count * (d.predicted - (1 if d.won else 0)) ** 2 for d in deals]
    return ratio(sum(errors, Decimal(0)), sum(d.count for d in deals))


def _reliability(deals: list[Scored]) -> list[ReliabilityBin]:
    bins: list[list[Scored]] = [[] for _ in range(10)]
    for deal in deals:
        bins[min(int(deal.predicted * 10), 9)].append(deal)
    return [
        ReliabilityBin(
            low=index / 10,
            high=(index + 1) / 10,
            count=(count := sum(d.count for d in found)),
            mean_predicted=ratio(sum((d.count * d.predicted for d in found), Decimal(0)), count),
            observed_win_share=ratio(sum(d.count for d in found if d.won), count),
        )
        for index, found in enumerate(bins)
    ]
