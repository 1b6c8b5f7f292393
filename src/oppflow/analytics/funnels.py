"""The funnels (snapshot and cohort), conversion and flow, computed from timelines.

Pure functions of (timelines, scope, options): the repository decides which timelines the
caller may read and streams them; nothing here touches the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from oppflow.analytics.schemas import ConversionRow, FlowRow, FunnelPhase
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import (
    PHASE_SEPARATOR,
    State,
    phase_number,
)

CENT = Decimal("0.01")
# The fields each report reads (its stream holds only their rows).
FLOW_FIELDS = ("pipeline_phase", "state")
# What a cohort counts of each member (``cohort_of_members``), now or at an instant.
MEMBER_FIELDS = ("state", "estimated_value", "probability", "process_key", "active_stage")
SNAPSHOT_FIELDS = (
    "state", "pipeline_phase", "process_key", "active_stage", "estimated_value", "probability",
    "estimated_close_date",
)  # fmt: skip
# What a report as of a past instant reads of each opportunity then, with the filters' owner:
# the columns of the spans (``spans.py``, migrations 0021 and 0022). Spelled out: a field a
# report comes to read is not in the spans until a migration adds it.
SPAN_FIELDS = (
    "state", "pipeline_phase", "process_key", "active_stage", "estimated_value", "probability",
    "estimated_close_date", "owner_id", "forecast_category", "actual_close_date", "actual_value",
)  # fmt: skip


@dataclass
class PhaseTotal:
    count: int = 0
    value: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)

    def add(self, scope: Scope, state: State) -> None:
        self.add_values(state["estimated_value"] or Decimal(0), scope.defaults.weighted(state))

    def add_values(self, value: Decimal, weighted: Decimal) -> None:
        self.add_many(1, value, weighted)

    def add_many(self, count: int, value: Decimal, weighted: Decimal) -> None:
        self.count += count
        self.value += value
        self.weighted += weighted

    def row(self, phase: str) -> FunnelPhase:
        return FunnelPhase(
            pipeline_phase=phase,
            count=self.count,
            estimated_value=self.value.quantize(CENT),
            weighted_value=self.weighted.quantize(CENT),
        )


def snapshot(
    states: Iterable[tuple[State, int, Decimal]],
    scope: Scope,
    close_from: date | None = None,
    close_to: date | None = None,
) -> list[FunnelPhase]:
    """Opportunities open at ``as_of``, by their phase then, with their values then: from
    each opportunity's state at ``as_of`` (read in SQL from the spans, or from the log
    with ``known=recorded``), alike states counted together (the state, how many, their values
    summed): weighted once, as exact as Σ (v × p / 100) = (Σ v) × p / 100 is in Decimal (its
    28 digits hold the sum of 10,000,000 values of 19 digits, 4 of them decimals)."""
    totals: dict[str, PhaseTotal] = defaultdict(PhaseTotal)
    for state, count, value in states:
        if not state.is_open or not scope.admits(state):
            continue
        closing = state["estimated_close_date"]
        if close_from and (closing is None or closing < close_from):
            continue
        if close_to and (closing is None or closing > close_to):
            continue
        weighted = value * scope.defaults.probability(state) / 100
        totals[state["pipeline_phase"] or ""].add_many(count, value, weighted)
    return [totals[phase].row(phase) for phase in sorted(totals)]


def one_each(states: Iterable[State]) -> Iterator[tuple[State, int, Decimal]]:
    """Each state counted alone, for :func:`snapshot`."""
    for state in states:
        yield state, 1, state["estimated_value"] or Decimal(0)


@dataclass
class CohortPhase:
    phase: str
    total: PhaseTotal = field(default_factory=PhaseTotal)
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def cohort_of_members(
    members: Iterable[Sequence[Any]], scope: Scope, *, mode: str
) -> list[CohortPhase]:
    """The cohort funnel of its members, a row per member or per group of alike ones
    (``AnalyticsRepository.cohort_now``, ``HistoryRepository.cohort_at``: state, estimated
    value (summed for a group), probability, process, stage, the phases entered in time
    order joined by ``|``, None if none, and how many members).

    Members alike (the phases they reached, their state, the probability they are weighted
    at) are counted together: their values summed, then weighted once. Exact, as Decimal
    products and sums are: Σ (v × p / 100) = (Σ v) × p / 100."""
    phases = scope.defaults.phases(scope.process)
    reached_by = _Reached(phases, ordered=mode == "ordered")
    # The probability each member is weighted at, once per (state, own probability, process,
    # stage).
    weights: dict[tuple[Any, ...], int] = {}
    alike: dict[tuple[frozenset[str], str, int], list[Any]] = {}
    for state, value, probability, process, stage, entries, count in members:
        weighed_by = (state, probability, process, stage)
        weight = weights.get(weighed_by)
        if weight is None:
            # The weight must not depend on the value: it is one per group, and cached.
            fields = (state, None, probability, process, stage)
            member = State(dict(zip(MEMBER_FIELDS, fields, strict=True)))
            weight = weights[weighed_by] = scope.defaults.probability(member)
        tally = alike.setdefault((reached_by[entries], state, weight), [0, Decimal(0)])
        tally[0] += count
        tally[1] += value or 0
    found = [CohortPhase(phase) for phase in phases]
    for (phases_reached, state_now, probability), (count, value) in alike.items():
        for phase in found:
            if phase.phase in phases_reached:
                phase.total.add_many(count, value, value * probability / 100)
                phase.outcomes[state_now] += count
    return found


class _Reached(dict[str | None, frozenset[str]]):
    """The phases reached per sequence of entries (``|``-joined, None for none), each
    sequence read once: most members of a cohort share a few."""

    def __init__(self, phases: list[str], *, ordered: bool) -> None:
        super().__init__({None: frozenset()})
        self.phases, self.ordered = phases, ordered

    def __missing__(self, entries: str | None) -> frozenset[str]:
        entered = (entries or "").split(PHASE_SEPARATOR)
        found = _reached_in_order(entered, self.phases) if self.ordered else set(entered)
        self[entries] = frozenset(found)
        return self[entries]


def _reached_in_order(entries: list[str], phases: list[str]) -> set[str]:
    """The phases 1..k reached in order: an entry into the next phase extends the run, a back
    move keeps it, a skip never imputes the phase skipped."""
    progress = 0
    for phase in entries:
        if progress < len(phases) and phase == phases[progress]:
            progress += 1
    return set(phases[:progress])


def conversion(phases: list[CohortPhase]) -> list[ConversionRow]:
    """Next-step and cumulative rates of a cohort funnel, and the win rate from each phase."""
    first = phases[0].total.count if phases else 0
    rows = []
    for position, phase in enumerate(phases):
        reached = phase.total.count
        following = phases[position + 1].total.count if position + 1 < len(phases) else None
        won, lost = phase.outcomes["won"], phase.outcomes["lost"]
        rows.append(
            ConversionRow(
                pipeline_phase=phase.phase,
                reached=reached,
                next_step_rate=ratio(following, reached) if following is not None else None,
                cumulative_rate=ratio(reached, first),
                won=won,
                lost=lost,
                open=phase.outcomes["open"],
                win_rate=ratio(won, won + lost),
            )
        )
    return rows


def ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    """``part / whole`` rounded to four places, or None (never 0) when ``whole`` is 0."""
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")))


def flow_of_moves(moves: Iterable[Sequence[Any]], scope: Scope) -> list[FlowRow]:
    """Flow from ``(phase, move, reopened, count)`` rows: the period's phase moves counted
    (``AnalyticsRepository.phase_moves_counted``)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for phase, move, reopened, count in moves:
        tally = counts[phase]
        if move == "entry":
            tally["entries"] += count
            tally["reopened"] += count if reopened else 0
        else:
            tally[f"exits_{move}"] += count
    return flow_rows(counts, scope)


def flow_rows(counts: Mapping[str, Mapping[str, int]], scope: Scope) -> list[FlowRow]:
    """A row per phase of the process asked for (every process's without one) and per phase
    with a move, in phase order."""
    phases = set(scope.defaults.phases(scope.process)) | set(counts)
    ordered = sorted(phases, key=lambda phase: (phase_number(phase), phase))
    return [
        FlowRow(pipeline_phase=phase, **_flow_counts(counts.get(phase, {}))) for phase in ordered
    ]


def _flow_counts(tally: Mapping[str, int]) -> dict[str, int]:
    keys = ("entries", "reopened", "exits_next", "exits_back", "exits_won", "exits_lost")
    return {key: tally.get(key, 0) for key in keys}
