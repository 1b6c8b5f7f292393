"""Time in stage: stints, and their median with open stints as censored (Kaplan–Meier)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from oppflow.analytics.funnels import ratio
from oppflow.analytics.options import Period
from oppflow.analytics.schemas import TimeInStageRow
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import Stint, Timeline

MICROSECONDS_A_DAY = Decimal(86_400_000_000)
# The fields a stint is made of (the report's stream holds only their rows).
STINT_FIELDS = ("process_key", "active_stage", "state")


@dataclass(frozen=True)
class Duration:
    days: Decimal
    completed: bool


def time_in_stage(
    timelines: Iterable[Timeline], scope: Scope, period: Period | None, *, measure: str
) -> list[TimeInStageRow]:
    """Per stage: how long opportunities stay, ``cumulative`` (every stint of one opportunity
    summed) or ``latest`` (its current or last stint); stints entered in ``period`` if given."""
    durations: dict[tuple[str, str], list[Duration]] = defaultdict(list)
    for timeline in timelines:
        if scope.state(timeline) is None:
            continue
        stints = [
            stint
            for stint in timeline.stints(scope.as_of)
            if stint.stage and (period is None or stint.start in period)
        ]
        for stage, duration in _per_stage(stints, scope.as_of, measure).items():
            durations[stage].append(duration)
    return [_row(scope, stage, found) for stage, found in sorted(durations.items())]


def _per_stage(
    stints: list[Stint], as_of: datetime, measure: str
) -> dict[tuple[str, str], Duration]:
    found: dict[tuple[str, str], Duration] = {}
    for stint in stints:
        key = (stint.process_key or "", stint.stage or "")
        days = days_between(stint.start, stint.end or as_of)
        earlier = found.get(key)
        if measure == "cumulative" and earlier is not None:
            days += earlier.days
        found[key] = Duration(days, stint.end is not None)
    return found


def _row(scope: Scope, stage: tuple[str, str], durations: list[Duration]) -> TimeInStageRow:
    completed = [d.days for d in durations if d.completed]
    default = scope.defaults.stages.get(stage)
    return TimeInStageRow(
        process=stage[0],
        stage=stage[1],
        pipeline_phase=default.pipeline_phase if default else "",
        completed=len(completed),
        still_open=len(durations) - len(completed),
        median_days=_rounded(kaplan_meier_median(durations)),
        mean_completed_days=ratio(sum(completed, Decimal(0)), len(completed)),
    )


def kaplan_meier_median(durations: list[Duration]) -> Decimal | None:
    """The smallest duration at which the Kaplan–Meier survival falls to one half or below;
    None when it never does (too many stints still open)."""
    survival = Decimal(1)
    at_risk = len(durations)
    ordered = sorted(durations, key=lambda d: (d.days, not d.completed))
    index = 0
    while index < len(ordered):
        days = ordered[index].days
        ended = leaving = 0
        while index < len(ordered) and ordered[index].days == days:
            ended += ordered[index].completed
            leaving += 1
            index += 1
        if ended:
            survival *= 1 - Decimal(ended) / at_risk
            if survival <= Decimal("0.5"):
                return days
        at_risk -= leaving
    return None


def _rounded(days: Decimal | None) -> float | None:
    return None if days is None else float(days.quantize(Decimal("0.0001")))


def days_between(start: datetime, end: datetime) -> Decimal:
    """Exact days (to the microsecond) from ``start`` to ``end``."""
    return Decimal((end - start) // timedelta(microseconds=1)) / MICROSECONDS_A_DAY
