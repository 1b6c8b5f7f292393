"""Time in stage: stints, and their median with open stints as censored (Kaplan–Meier)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from oppflow.analytics.funnels import ratio
from oppflow.analytics.schemas import TimeInStageRow
from oppflow.analytics.scope import Scope

MICROSECONDS_A_DAY = Decimal(86_400_000_000)
# The fields a stint is made of (the report's stream holds only their rows).
STINT_FIELDS = ("process_key", "active_stage", "state")


# One opportunity's stay in one stage as the report counts it: its length in microseconds
# (to ``as_of`` while open) and whether it had ended by then.
Stay = tuple[int, bool]
Stage = tuple[str, str]


def stays_of(
    stints: Iterable[Sequence[Any]], as_of: int, *, cumulative: bool
) -> dict[Stage, list[Stay]]:
    """Per (process, stage), each opportunity's stay from its ``(opportunity, process,
    stage, entered, left)`` stints (``AnalyticsRepository.stints_entered``): the latest
    stint's length, or every one's summed, to its end or to ``as_of`` if still open, ended
    when every one had ended by then; in walking order (shortest first; at one length,
    those that ended before those still open: censored at that length, they were still at
    risk when the others ended)."""
    stays: dict[Stage, list[Stay]] = {}
    for (_, process, stage), (summed, latest, latest_end, ended) in _per_deal(stints, as_of):
        length = summed if cumulative else latest_end - latest
        stays.setdefault((process, stage), []).append((length, ended))
    for stage_stays in stays.values():
        stage_stays.sort(key=_walking_order)
    return stays


def _per_deal(
    stints: Iterable[Sequence[Any]], as_of: int
) -> Iterable[tuple[tuple[Any, str, str], tuple[int, int, int, bool]]]:
    """Per opportunity and stage: its stints' lengths summed, its latest entry, its latest
    end (``as_of`` while one is open: every end is before it) and whether all had ended.
    Tuples: the garbage collector stops tracking those of numbers, and walks lists at every
    pass."""
    deals: dict[tuple[Any, str, str], tuple[int, int, int, bool]] = {}
    for opportunity_id, process, stage, entered, left in stints:
        ended = left is not None and left <= as_of
        end = left if ended else as_of
        key = (opportunity_id, process, stage)
        found = deals.get(key)
        if found is None:
            deals[key] = (end - entered, entered, end, ended)
            continue
        summed, latest, latest_end, all_ended = found  # the stage entered again
        deals[key] = (
            summed + end - entered,
            max(latest, entered),
            max(latest_end, end),
            all_ended and ended,
        )
    return deals.items()


def _walking_order(stay: Stay) -> tuple[int, bool]:
    return stay[0], not stay[1]


def time_in_stage_of_stays(stays: Mapping[Stage, list[Stay]], scope: Scope) -> list[TimeInStageRow]:
    """The report of each stage's stays, given in walking order (:func:`stays_of`)."""
    rows = [_row(scope, stage, found) for stage, found in stays.items()]
    # In Python's order of the keys: the database's collation may differ.
    return sorted(rows, key=lambda row: (row.process, row.stage))


def _row(scope: Scope, stage: Stage, stays: list[Stay]) -> TimeInStageRow:
    """The row of one stage's stays, given in walking order."""
    completed = [length for length, ended in stays if ended]
    default = scope.defaults.stages.get(stage)
    return TimeInStageRow(
        process=stage[0],
        stage=stage[1],
        pipeline_phase=default.pipeline_phase if default else "",
        completed=len(completed),
        still_open=len(stays) - len(completed),
        median_days=_rounded(kaplan_meier_median(stays)),
        mean_completed_days=ratio(Decimal(sum(completed)) / MICROSECONDS_A_DAY, len(completed)),
    )


def kaplan_meier_median(stays: list[Stay]) -> Decimal | None:
    """The smallest length (in days) at which the Kaplan–Meier survival falls to one half
    or below; None when it never does (too many stints still open). ``stays`` come in
    walking order."""
    survival = Decimal(1)
    at_risk = len(stays)
    index, count = 0, len(stays)
    half = Decimal("0.5")
    while index < count:
        length = stays[index][0]
        ended = leaving = 0
        while index < count and stays[index][0] == length:
            ended += stays[index][1]
            leaving += 1
            index += 1
        if ended:
            survival *= 1 - Decimal(ended) / at_risk
            if survival <= half:
                return Decimal(length) / MICROSECONDS_A_DAY
        at_risk -= leaving
    return None


def _rounded(days: Decimal | None) -> float | None:
    return None if days is None else float(days.quantize(Decimal("0.0001")))
