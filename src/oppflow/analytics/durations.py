"""Time in stage: stints, and their median with open stints as censored (Kaplan–Meier)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import groupby
from typing import Any

from oppflow.analytics.funnels import ratio
from oppflow.analytics.options import Period
from oppflow.analytics.schemas import TimeInStageRow
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import Stint, Timeline, microseconds

MICROSECONDS_A_DAY = Decimal(86_400_000_000)
# The fields a stint is made of (the report's stream holds only their rows).
STINT_FIELDS = ("process_key", "active_stage", "state")


# One opportunity's stay in one stage as the report counts it: its length in microseconds
# (to ``as_of`` while open) and whether it had ended by then.
Stay = tuple[int, bool]


# A stint as the report reads it: opportunity, process, stage, entered and left (None while
# still there), instants in microseconds since 1970 (``timeline.microseconds``).
Spell = Sequence[Any]


def time_in_stage(
    timelines: Iterable[Timeline], scope: Scope, period: Period | None, *, measure: str
) -> list[TimeInStageRow]:
    """Per stage: how long opportunities stay, ``cumulative`` (every stint of one opportunity
    summed) or ``latest`` (its current or last stint); stints entered in ``period`` if given."""
    spells = (
        (timeline.opportunity_id, stint.process_key or "", stint.stage, *_instants(stint))
        for timeline in timelines
        if scope.state(timeline) is not None
        for stint in timeline.stints(scope.as_of)
        if stint.stage and (period is None or stint.start in period)
    )
    return time_in_stage_of(spells, scope, measure=measure)


def _instants(stint: Stint) -> tuple[int, int | None]:
    left = None if stint.end is None else microseconds(stint.end)
    return microseconds(stint.start), left


def time_in_stage_of(
    spells: Iterable[Spell], scope: Scope, *, measure: str
) -> list[TimeInStageRow]:
    """The report of the stints ``spells`` (in any order), open at ``scope.as_of`` unless
    left by then: from the folded log or from the kept stints alike."""
    as_of = microseconds(scope.as_of)
    by_stage: dict[tuple[str, str], list[Stay]] = defaultdict(list)
    for (_, process_key, stage), (_, length, completed) in _per_opportunity(
        spells, as_of, measure
    ).items():
        by_stage[(process_key, stage)].append((length, completed))
    return [
        _row(scope, stage, _in_walking_order(stays)) for stage, stays in sorted(by_stage.items())
    ]


def time_in_stage_of_stays(rows: Iterable[Sequence[Any]], scope: Scope) -> list[TimeInStageRow]:
    """The report of ``(process, stage, length, completed)`` rows, one per opportunity and
    stage, in stage order (``AnalyticsRepository.stays``: what :func:`_per_opportunity`
    makes of the stints, made in SQL), each stage's in :func:`_in_walking_order`."""
    found: list[TimeInStageRow] = []
    for stage, stays in groupby(rows, key=lambda row: (row[0], row[1])):
        found.append(_row(scope, stage, [(int(row[2]), bool(row[3])) for row in stays]))
    # In Python's order of the keys, as the fold: the database's collation may differ.
    return sorted(found, key=lambda row: (row.process, row.stage))


def _per_opportunity(
    spells: Iterable[Spell], as_of: int, measure: str
) -> dict[tuple[uuid.UUID, str, str], tuple[int, int, bool]]:
    """Per opportunity and stage: (latest entry, length, whether that latest stint ended);
    the length is the latest stint's, or every stint's summed when ``cumulative``."""
    found: dict[tuple[uuid.UUID, str, str], tuple[int, int, bool]] = {}
    cumulative = measure == "cumulative"
    for opportunity_id, process_key, stage, entered, left in spells:
        completed = left is not None and left <= as_of
        length = (left if completed and left is not None else as_of) - entered
        key = (opportunity_id, process_key, stage)
        earlier = found.get(key)
        if earlier is None:
            found[key] = (entered, length, completed)
        elif entered > earlier[0]:
            found[key] = (entered, length + earlier[1] if cumulative else length, completed)
        elif cumulative:
            found[key] = (earlier[0], earlier[1] + length, earlier[2])
    return found


def _in_walking_order(stays: list[Stay]) -> list[Stay]:
    """Shortest first; at one length, those that ended before those still open (censored
    at that length, they were still at risk when the others ended)."""
    return sorted(stays, key=lambda stay: (stay[0], not stay[1]))


def _row(scope: Scope, stage: tuple[str, str], stays: list[Stay]) -> TimeInStageRow:
    """The row of one stage's stays, given in :func:`_in_walking_order`."""
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
    :func:`_in_walking_order`."""
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
