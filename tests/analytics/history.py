"""Random opportunity histories written straight into the change log (and the opportunity
rows they end in), and a brute-force reading of that log that shares no code with oppflow's.

The brute force answers each question the slow, obvious way: the value of a field at T is the
row of that field with the greatest (effective_at, seq) at or before T, recomputed from all
rows every time it is asked.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.orm import Session

from oppflow.analytics import (
    closed_deals,
    phase_moves,
    spans,
    stage_entries,
    stage_stints,
    totals,
)
from oppflow.models import Opportunity, OpportunityChange

BASE = datetime(2026, 1, 1, tzinfo=UTC)
PROCESSES: dict[str, list[tuple[str, str]]] = {
    "opportunity-sales-process": [
        ("qualify", "1-Qualify"),
        ("develop", "2-Develop"),
        ("propose", "3-Propose"),
        ("close", "4-Close"),
    ],
    "lead-to-opportunity-sales-process": [
        ("develop", "2-Develop"),
        ("propose", "3-Propose"),
        ("close", "4-Close"),
    ],
}
PHASES = ["1-Qualify", "2-Develop", "3-Propose", "4-Close"]
STAGE_PROBABILITY = {"qualify": 10, "develop": 30, "propose": 60, "close": 80}
MONEY = ("estimated_value", "actual_value")
DATES = ("estimated_close_date", "actual_close_date")


@dataclass
class Row:
    opportunity_id: uuid.UUID
    field: str
    value: str | None
    effective_at: datetime
    recorded_at: datetime
    seq: int


@dataclass
class History:
    opportunity_id: uuid.UUID
    rows: list[Row] = field(default_factory=list)


# --- generation -------------------------------------------------------------------------

step_kinds = st.sampled_from(
    ["move", "move", "move", "value", "close_date", "probability", "category", "owner",
     "win", "lose", "reopen"]
)  # fmt: skip


@st.composite
def histories(draw: st.DrawFn, owners: list[uuid.UUID]) -> list[History]:
    count = draw(st.integers(min_value=1, max_value=6))
    return [draw(one_history(owners)) for _ in range(count)]


@st.composite
def one_history(draw: st.DrawFn, owners: list[uuid.UUID]) -> History:
    history = History(uuid.uuid4())
    process = draw(st.sampled_from(sorted(PROCESSES)))
    stages = PROCESSES[process]
    born = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * 200)))
    first_stage, first_phase = stages[0]
    values: dict[str, Any] = {
        "process_key": process,
        "active_stage": first_stage,
        "pipeline_phase": first_phase,
        "state": "open",
        "status_reason": "in_progress",
        "owner_id": str(draw(st.sampled_from(owners))),
        "estimated_value": draw(money()),
        "estimated_close_date": draw(close_dates()),
        "probability": draw(st.none() | st.integers(0, 100).map(str)),
        "forecast_category": "pipeline",
    }
    seq = [0]
    _write(history, seq, values, born, born)
    clock = born
    for kind in draw(st.lists(step_kinds, max_size=8)):
        clock += timedelta(minutes=draw(st.integers(1, 60 * 24 * 30)))
        effective = clock
        if draw(st.integers(0, 5)) == 0:  # backdated: true earlier than recorded
            effective = max(
                born + timedelta(seconds=1), clock - timedelta(days=draw(st.integers(0, 20)))
            )
        changes = _step(draw, kind, stages, owners, _current(history))
        _write(history, seq, changes, effective, clock)
    return history


def money() -> st.SearchStrategy[str | None]:
    cents = st.integers(0, 50_000_000).map(lambda c: str(Decimal(c) / 100))
    return st.none() | cents


def close_dates() -> st.SearchStrategy[str | None]:
    return st.none() | st.integers(0, 400).map(
        lambda d: (date(2026, 1, 1) + timedelta(days=d)).isoformat()
    )


def _step(
    draw: st.DrawFn,
    kind: str,
    stages: list[tuple[str, str]],
    owners: list[uuid.UUID],
    now: dict[str, Any],
) -> dict[str, Any]:
    is_open = now.get("state") == "open"
    if kind == "move" and is_open:
        stage, phase = draw(st.sampled_from(stages))
        return {"active_stage": stage, "pipeline_phase": phase}
    if kind == "value":
        return {"estimated_value": draw(money())}
    if kind == "close_date":
        return {"estimated_close_date": draw(close_dates())}
    if kind == "probability":
        return {"probability": draw(st.none() | st.integers(0, 100).map(str))}
    if kind == "category" and is_open:
        return {
            "forecast_category": draw(
                st.sampled_from(["pipeline", "best_case", "committed", "omitted"])
            )
        }
    if kind == "owner":
        return {"owner_id": str(draw(st.sampled_from(owners)))}
    if kind in ("win", "lose") and is_open:
        closed_on = draw(close_dates()) or "2026-06-30"
        won = kind == "win"
        return {
            "state": "won" if won else "lost",
            "status_reason": "won" if won else draw(st.sampled_from(["out_sold", "canceled"])),
            "probability": "100" if won else "0",
            "forecast_category": "won" if won else "lost",
            "actual_value": draw(money()) if won else None,
            "actual_close_date": closed_on,
        }
    if kind == "reopen" and not is_open:
        return {
            "state": "open",
            "status_reason": "in_progress",
            "forecast_category": "pipeline",
            "actual_value": None,
            "actual_close_date": None,
        }
    return {}


def _current(history: History) -> dict[str, Any]:
    """The values as last recorded (what the user saw when making the next change)."""
    found: dict[str, Any] = {}
    for row in sorted(history.rows, key=lambda r: (r.recorded_at, r.seq)):
        found[row.field] = row.value
    return found


def _write(
    history: History,
    seq: list[int],
    values: dict[str, Any],
    effective: datetime,
    recorded: datetime,
) -> None:
    current = _current(history)
    for name, value in values.items():
        if history.rows and current.get(name) == value:
            continue
        if not history.rows and value is None:
            continue
        seq[0] += 1
        history.rows.append(Row(history.opportunity_id, name, value, effective, recorded, seq[0]))


def store(session: Session, stories: list[History], units: dict[uuid.UUID, uuid.UUID]) -> None:
    """The opportunities as their logs leave them, then the logs, in recorded order."""
    for history in stories:
        final = state_at(history.rows, datetime.max.replace(tzinfo=UTC)) or {}
        session.execute(insert(Opportunity), [_record(history, final, units)])
    rows = sorted((r for h in stories for r in h.rows), key=lambda r: (r.recorded_at, r.seq))
    totals.rebuild(session)  # written around the ORM, as a bulk loader does
    session.execute(
        insert(OpportunityChange),
        [
            {
                "opportunity_id": r.opportunity_id,
                "field": r.field,
                "new_value": r.value,
                "effective_at": r.effective_at,
                "recorded_at": r.recorded_at,
            }
            for r in rows
        ],
    )
    closed_deals.rebuild(session)
    stage_stints.rebuild(session)
    phase_moves.rebuild(session)
    spans.rebuild(session)
    stage_entries.rebuild(session)


def _record(
    history: History, final: dict[str, Any], units: dict[uuid.UUID, uuid.UUID]
) -> dict[str, Any]:
    owner = uuid.UUID(final["owner_id"])
    born = min(r.effective_at for r in history.rows)
    return {
        "id": history.opportunity_id,
        "name": f"Deal {history.opportunity_id.hex[:6]}",
        "owner_id": owner,
        "owning_business_unit_id": units[owner],
        "created_at": born,
        "modified_at": max(r.recorded_at for r in history.rows),
        "state": final["state"],
        "status_reason": final["status_reason"],
        "process_key": final.get("process_key"),
        "active_stage": final.get("active_stage"),
        "pipeline_phase": final.get("pipeline_phase"),
        "estimated_value": _decimal(final.get("estimated_value")),
        "estimated_close_date": _date(final.get("estimated_close_date")),
        "probability": int(final["probability"]) if final.get("probability") else None,
        "forecast_category": final.get("forecast_category") or "pipeline",
        "actual_value": _decimal(final.get("actual_value")),
        "actual_close_date": _date(final.get("actual_close_date")),
    }


# --- brute force ------------------------------------------------------------------------


def state_at(
    rows: list[Row], moment: datetime, known: datetime | None = None
) -> dict[str, Any] | None:
    """Each field's row with the greatest (effective_at, seq) at or before ``moment``."""
    seen = [
        r for r in rows if r.effective_at <= moment and (known is None or r.recorded_at <= known)
    ]
    if not [r for r in rows if r.effective_at <= moment]:
        return None
    found: dict[str, Any] = {}
    for name in {r.field for r in seen}:
        last = max((r for r in seen if r.field == name), key=lambda r: (r.effective_at, r.seq))
        found[name] = last.value
    return found


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


def probability(state: dict[str, Any]) -> int:
    if state.get("probability") is not None:
        return int(state["probability"])
    if state.get("state") == "won":
        return 100
    if state.get("state") == "lost":
        return 0
    return STAGE_PROBABILITY.get(state.get("active_stage") or "", 0)


def value(state: dict[str, Any]) -> Decimal:
    return _decimal(state.get("estimated_value")) or Decimal(0)


def snapshot(
    stories: list[History], moment: datetime, known: datetime | None = None
) -> dict[str, tuple[int, Decimal, Decimal]]:
    found: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for history in stories:
        state = state_at(history.rows, moment, known)
        if state is None or state.get("state") != "open":
            continue
        total = found[state.get("pipeline_phase") or ""]
        total[0] += 1
        total[1] += value(state)
        total[2] += value(state) * probability(state) / 100
    return {k: (v[0], v[1], v[2]) for k, v in found.items()}


def instants(rows: list[Row], until: datetime) -> list[datetime]:
    return sorted({r.effective_at for r in rows if r.effective_at <= until})


def walk(rows: list[Row], until: datetime) -> list[tuple[datetime, dict[str, Any], dict[str, Any]]]:
    """(instant, state just before, state at) for every instant up to ``until``."""
    steps = []
    for at in instants(rows, until):
        before = state_at(rows, at - timedelta(microseconds=1)) or {}
        steps.append((at, before, state_at(rows, at) or {}))
    return steps


def phase_events(rows: list[Row], until: datetime) -> list[tuple[str, str, datetime, str]]:
    """("enter"|"exit", phase, at, how) while open."""
    events = []
    for at, before, after in walk(rows, until):
        was = before.get("pipeline_phase") if before.get("state") == "open" else None
        now = after.get("pipeline_phase") if after.get("state") == "open" else None
        if was == now:
            continue
        if was is not None:
            if now is None:
                how = after.get("state")
            else:
                how = "next" if int(now[0]) >= int(was[0]) else "back"
            events.append(("exit", was, at, how))
        if now is not None:
            events.append(
                ("enter", now, at, "reopened" if before.get("state") in ("won", "lost") else "")
            )
    return events


def cohort(
    stories: list[History], start: datetime, end: datetime, moment: datetime, mode: str
) -> list[int]:
    return [count for count, _, _ in cohort_totals(stories, start, end, moment, mode)]


def cohort_totals(
    stories: list[History],
    start: datetime,
    end: datetime,
    moment: datetime,
    mode: str,
    owner: uuid.UUID | None = None,
) -> list[tuple[int, Decimal, Decimal]]:
    """Per phase: the members created in ``[start, end)`` (of ``owner`` at ``moment``, if
    given) that reached it by ``moment``, and their values and weighted values then."""
    totals = [[0, Decimal(0), Decimal(0)] for _ in PHASES]
    for history in stories:
        born = min(r.effective_at for r in history.rows)
        state = state_at(history.rows, moment)
        if not (start <= born < end) or not _of(state, owner):
            continue
        assert state is not None
        entered = [p for kind, p, _, _ in phase_events(history.rows, moment) if kind == "enter"]
        if mode == "any":
            reached = set(entered)
        else:
            progress = 0
            for phase in entered:
                if progress < len(PHASES) and phase == PHASES[progress]:
                    progress += 1
            reached = set(PHASES[:progress])
        for index, phase in enumerate(PHASES):
            if phase in reached:
                totals[index][0] += 1
                totals[index][1] += value(state)
                totals[index][2] += value(state) * probability(state) / 100
    return [(int(c), Decimal(v), Decimal(w)) for c, v, w in totals]


def flow(
    stories: list[History],
    start: datetime,
    end: datetime,
    moment: datetime,
    owner: uuid.UUID | None = None,
) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for history in stories:
        if not _of(state_at(history.rows, moment), owner):
            continue
        for kind, phase, at, how in phase_events(history.rows, min(end, moment)):
            if start <= at < end:
                if kind == "enter":
                    found[phase]["entries"] += 1
                    found[phase]["reopened"] += how == "reopened"
                else:
                    found[phase][f"exits_{how}"] += 1
    return found


def _of(state: dict[str, Any] | None, owner: uuid.UUID | None) -> bool:
    """Whether an opportunity existed then, and was ``owner``'s then if one is asked."""
    return state is not None and (owner is None or state.get("owner_id") == str(owner))


def forecast(
    stories: list[History],
    moment: datetime,
    days: tuple[str, str] | None = None,
    owner: uuid.UUID | None = None,
) -> dict[str, dict[str, Decimal]]:
    """Per month: each category's value, the weighted pipeline and the count, of the deals
    with a close day in ``[first, after)`` if asked (ISO days), of ``owner`` then if asked."""
    months: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for history in stories:
        state = state_at(history.rows, moment)
        if not _of(state, owner) or state is None or state.get("state") == "lost":
            continue
        won = state.get("state") == "won"
        day = state.get("actual_close_date" if won else "estimated_close_date")
        if days is not None and not (day and days[0] <= day < days[1]):
            continue
        month = day[:7] if day else "none"
        category = "won" if won else state.get("forecast_category") or "pipeline"
        amount = value(state)
        if won and state.get("actual_value") is not None:
            amount = Decimal(state["actual_value"])
        months[month][category] += amount
        months[month]["count"] += 1
        if not won and category != "omitted":
            months[month]["weighted"] += value(state) * probability(state) / 100
    return months


def in_close_period(state: dict[str, Any] | None, first: date, last: date) -> bool:
    if state is None or state.get("state") != "open" or not state.get("estimated_close_date"):
        return False
    return first <= date.fromisoformat(state["estimated_close_date"]) < last


def waterfall(
    stories: list[History],
    first: date,
    last: date,
    t0: datetime,
    t1: datetime,
    owner: uuid.UUID | None = None,
) -> dict[str, tuple[int, Decimal]]:
    """The waterfall's lines, of ``owner``'s deals at ``t1`` if asked."""
    lines: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])

    def add(line: str, amount: Decimal) -> None:
        lines[line][0] += 1
        lines[line][1] += amount

    for history in stories:
        before, after = state_at(history.rows, t0), state_at(history.rows, t1)
        if owner is not None and not _of(after, owner):
            continue
        was_in, is_in = in_close_period(before, first, last), in_close_period(after, first, last)
        if is_in:
            add("ending", value(after or {}))
        if was_in:
            add("beginning", value(before or {}))
        if is_in and not was_in:
            add("new", value(after or {}))
        elif was_in and is_in:
            change = value(after or {}) - value(before or {})
            if change:
                add("increased" if change > 0 else "decreased", abs(change))
        elif was_in:
            if after is not None and after.get("state") in ("won", "lost"):
                add(after["state"], value(before or {}))
            elif (
                after is not None
                and after.get("estimated_close_date")
                and date.fromisoformat(after["estimated_close_date"]) < first
            ):
                add("pulled_out", value(before or {}))
            else:
                add("pushed_out", value(before or {}))
    return {k: (v[0], v[1]) for k, v in lines.items()}


def stints(
    rows: list[Row], until: datetime
) -> list[tuple[tuple[str, str], datetime, datetime | None]]:
    """((process, stage), start, end or None) while open."""
    found: list[tuple[tuple[str, str], datetime, datetime | None]] = []
    current: tuple[tuple[str, str], datetime] | None = None
    for at, _before, after in walk(rows, until):
        where = (
            (after.get("process_key"), after.get("active_stage"))
            if after.get("state") == "open"
            else None
        )
        if current is not None and where == current[0]:
            continue
        if current is not None:
            found.append((current[0], current[1], at))
        current = (where, at) if where is not None else None  # type: ignore[assignment]
    if current is not None:
        found.append((current[0], current[1], None))
    return found


def kaplan_meier_median(durations: list[tuple[Decimal, bool]]) -> Decimal | None:
    """Survival S(t) = Π over event times ≤ t of (1 − deaths/at risk); the first t with
    S(t) ≤ 1/2."""
    survival = Decimal(1)
    for t in sorted({d for d, done in durations if done}):
        at_risk = sum(1 for d, _ in durations if d >= t)
        deaths = sum(1 for d, done in durations if d == t and done)
        survival *= 1 - Decimal(deaths) / at_risk
        if survival <= Decimal("0.5"):
            return t
    return None


def time_in_stage(
    stories: list[History],
    start: datetime,
    end: datetime,
    moment: datetime,
    owner: uuid.UUID | None = None,
    measure: str = "cumulative",
) -> dict[tuple[str, str], list[tuple[Decimal, bool]]]:
    """Per opportunity and stage, the stints entered in [start, end) summed (``cumulative``)
    or the latest of them alone (``latest``); completed when its last such stint ended."""
    found: dict[tuple[str, str], list[tuple[Decimal, bool]]] = defaultdict(list)
    for history in stories:
        if not _of(state_at(history.rows, moment), owner):
            continue
        per_stage: dict[tuple[str, str], tuple[Decimal, bool]] = {}
        for stage, begun, ended in stints(history.rows, moment):
            if not start <= begun < end:
                continue
            micros = ((ended or moment) - begun) // timedelta(microseconds=1)
            days = Decimal(micros) / Decimal(86_400_000_000)
            earlier = per_stage.get(stage, (Decimal(0), True))[0]
            if measure == "latest":  # stints come in time order
                earlier = Decimal(0)
            per_stage[stage] = (earlier + days, ended is not None)
        for stage, duration in per_stage.items():
            found[stage].append(duration)
    return found


class ClosedThen(NamedTuple):
    state: dict[str, Any]
    entered: frozenset[str]
    # From its first row to its last close.
    cycle: timedelta


def closed_at(
    stories: list[History],
    moment: datetime,
    owner: uuid.UUID | None = None,
    process: str | None = None,
) -> list[ClosedThen]:
    """The opportunities closed (won or lost) at ``moment``, ``owner``'s and in ``process``
    then if asked: each one's state then, the phases it entered before its last close, and
    its sales cycle."""
    found = []
    for history in stories:
        state = state_at(history.rows, moment)
        if not _of(state, owner) or state is None or state.get("state") not in ("won", "lost"):
            continue
        if process is not None and state.get("process_key") != process:
            continue
        closes = [
            at
            for at, before, after in walk(history.rows, moment)
            if before.get("state") == "open" and after.get("state") in ("won", "lost")
        ]
        if closes:
            events = phase_events(history.rows, closes[-1])
            entered = frozenset(p for kind, p, _, _ in events if kind == "enter")
            born = min(r.effective_at for r in history.rows)
            found.append(ClosedThen(state, entered, closes[-1] - born))
    return found


def reached_before_close(
    stories: list[History], moment: datetime, owner: uuid.UUID | None = None
) -> dict[str, tuple[int, int]]:
    """Per phase: (won, lost) among the opportunities closed at ``moment`` (``owner``'s then,
    if one is asked) that entered it before their last close."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for deal in closed_at(stories, moment, owner):
        for phase in deal.entered:
            found[phase][0 if deal.state["state"] == "won" else 1] += 1
    return {k: (v[0], v[1]) for k, v in found.items()}


def ended_by(stories: list[History], moment: datetime) -> list[History]:
    """The same histories moved earlier as one, so that the last recorded row is at ``moment``
    (a report of now then reads every row, as it does in use, where nothing is dated later)."""
    latest = max(row.recorded_at for history in stories for row in history.rows)
    shift = moment - latest
    return [
        History(
            history.opportunity_id,
            [
                Row(
                    row.opportunity_id,
                    row.field,
                    row.value,
                    row.effective_at + shift,
                    row.recorded_at + shift,
                    row.seq,
                )
                for row in history.rows
            ],
        )
        for history in stories
    ]
