"""Time in stage: stints, and their median with open stints as censored (Kaplan–Meier)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import groupby
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


def time_in_stage_of_stays(rows: Iterable[Sequence[Any]], scope: Scope) -> list[TimeInStageRow]:
    """The report of ``(process, stage, length, completed)`` rows, one per opportunity and
    stage, in stage order (``AnalyticsRepository.stays``), each stage's in walking order:
    shortest first; at one length, those that ended before those still open (censored at
    that length, they were still at risk when the others ended)."""
    found: list[TimeInStageRow] = []
    for stage, stays in groupby(rows, key=lambda row: (row[0], row[1])):
        found.append(_row(scope, stage, [(int(row[2]), bool(row[3])) for row in stays]))
    # In Python's order of the keys: the database's collation may differ.
    return sorted(found, key=lambda row: (row.process, row.stage))


def _row(scope: Scope, stage: tuple[str, str], stays: list[Stay]) -> TimeInStageRow:
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
