"""Every report equals a brute-force reading of the same change log (ANALYTICS.md §1–2),
for random histories with skips, back moves, reopens, backdated changes and two processes,
on SQLite and PostgreSQL, through the HTTP API."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics.durations import MICROSECONDS_A_DAY
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, OpportunityChange, User
from tests.analytics import history as brute
from tests.helpers import create_user, login

CENT = Decimal("0.01")
World = tuple[TestClient, dict[str, str], list[uuid.UUID], dict[uuid.UUID, uuid.UUID]]
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
moments = st.integers(0, 60 * 24 * 500).map(lambda m: brute.BASE + timedelta(minutes=m))


@pytest.fixture
def world(client: TestClient, factory: sessionmaker[Session]) -> World:
    create_user(factory, "root", roles=["system-administrator"])
    create_user(factory, "bea", roles=["salesperson"])
    with unit_of_work(factory) as session:
        users = {u.id: u.business_unit_id for u in session.scalars(select(User))}
    return client, login(client, "root"), sorted(users), users


def _reset(
    factory: sessionmaker[Session], stories: list[brute.History], units: dict[uuid.UUID, uuid.UUID]
) -> None:
    with unit_of_work(factory) as session:
        session.execute(delete(OpportunityChange))
        session.execute(delete(Opportunity))
        brute.store(session, stories, units)


def _get(client: TestClient, headers: dict[str, str], report: str, **params: str) -> Any:
    answer = client.get(f"/api/v1/analytics/{report}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _rows(stories: list[brute.History]) -> list[brute.Row]:
    return [row for story in stories for row in story.rows]


def _money(number: float | None) -> Decimal:
    return Decimal(str(number or 0)).quantize(CENT)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@given(data=st.data())
@EXAMPLES
def test_snapshot_funnel_as_of_any_instant(
    world: Any, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    moment = data.draw(moments)
    known = data.draw(st.sampled_from(["effective", "recorded"]))
    answer = _get(client, headers, "funnel", as_of=_iso(moment), known=known)
    expected = brute.snapshot(stories, moment, moment if known == "recorded" else None)
    got = {
        p["pipeline_phase"]: (p["count"], _money(p["estimated_value"]), _money(p["weighted_value"]))
        for p in answer["phases"]
    }
    assert got == {k: (c, v.quantize(CENT), w.quantize(CENT)) for k, (c, v, w) in expected.items()}
    assert answer["convention"]["mode"] == "snapshot"


@given(data=st.data())
@EXAMPLES
def test_funnel_of_now_equals_the_log_read_now(
    world: Any, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    now = datetime.now(UTC)
    answer = _get(client, headers, "funnel")
    got = {
        p["pipeline_phase"]: (p["count"], _money(p["estimated_value"]), _money(p["weighted_value"]))
        for p in answer["phases"]
    }
    expected = brute.snapshot(stories, now)
    assert got == {k: (c, v.quantize(CENT), w.quantize(CENT)) for k, (c, v, w) in expected.items()}


@given(data=st.data())
@EXAMPLES
def test_cohort_funnels_and_conversion(
    world: Any, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    start = data.draw(moments)
    end = start + timedelta(days=data.draw(st.integers(1, 300)))
    moment = data.draw(moments)
    mode = data.draw(st.sampled_from(["ordered", "any"]))
    params = {"from": _iso(start), "to": _iso(end), "as_of": _iso(moment), "mode": mode}
    answer = _get(client, headers, "funnel", **params)
    expected = brute.cohort(stories, start, end, moment, mode)
    assert [p["pipeline_phase"] for p in answer["phases"]] == brute.PHASES
    assert [p["count"] for p in answer["phases"]] == expected
    # The owner, the values and the weighted values as they were then (from the spans).
    owner = data.draw(st.sampled_from([None, *owners]))
    if owner is not None:
        answer = _get(client, headers, "funnel", owner_id=str(owner), **params)
    totals = brute.cohort_totals(stories, start, end, moment, mode, owner)
    assert [
        (p["count"], _money(p["estimated_value"]), _money(p["weighted_value"]))
        for p in answer["phases"]
    ] == [
        (count, value.quantize(CENT), weighted.quantize(CENT)) for count, value, weighted in totals
    ]
    rows = _get(client, headers, "conversion", **params)["rows"]
    assert [r["reached"] for r in rows] == expected
    for index, row in enumerate(rows[:-1]):
        rate = None if not expected[index] else round(expected[index + 1] / expected[index], 4)
        assert row["next_step_rate"] == rate


@given(data=st.data())
@EXAMPLES
def test_flow(world: Any, factory: sessionmaker[Session], data: st.DataObject) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    start = data.draw(moments)
    end = start + timedelta(days=data.draw(st.integers(1, 300)))
    moment = data.draw(moments)
    params = {"from": _iso(start), "to": _iso(end), "as_of": _iso(moment)}
    owner = data.draw(st.sampled_from([None, *owners]))  # as of the moment, from the spans
    if owner is not None:
        params["owner_id"] = str(owner)
    rows = _get(client, headers, "flow", **params)["rows"]
    expected = brute.flow(stories, start, end, moment, owner)
    for row in rows:
        phase = row.pop("pipeline_phase")
        assert {k: v for k, v in row.items() if v} == dict(+expected.get(phase, Counter())), phase


@given(data=st.data())
@EXAMPLES
def test_forecast(world: Any, factory: sessionmaker[Session], data: st.DataObject) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    moment = data.draw(moments)
    params, days = {"as_of": _iso(moment)}, None
    closing = sorted({r.value for r in _rows(stories) if r.field in brute.DATES and r.value})
    if closing and data.draw(st.booleans()):  # a close period, its ends on days deals close
        first = data.draw(st.sampled_from(closing))
        later = [day for day in closing if day > first]
        last = data.draw(st.sampled_from(later)) if later else "2027-12-31"
        params |= {"from": first, "to": last}
        days = (first, last)
    owner = data.draw(st.sampled_from([None, *owners]))  # the owner as of the moment
    params |= {"owner_id": str(owner)} if owner else {}
    rows = _get(client, headers, "forecast", **params)["rows"]
    expected = brute.forecast(stories, moment, days, owner)
    assert [r["month"] for r in rows] == sorted(expected)
    for row in rows:
        month = expected[row["month"]]
        assert row["count"] == month["count"]
        assert _money(row["closed"]) == month["won"].quantize(CENT)
        assert _money(row["commit"]) == (month["committed"] + month["won"]).quantize(CENT)
        best = month["best_case"] + month["committed"] + month["won"]
        assert _money(row["best_case"]) == best.quantize(CENT)
        pipeline = month["pipeline"] + month["best_case"] + month["committed"]
        assert _money(row["pipeline"]) == pipeline.quantize(CENT)
        assert _money(row["omitted"]) == month["omitted"].quantize(CENT)
        assert _money(row["weighted_pipeline"]) == month["weighted"].quantize(CENT)


@given(data=st.data())
@EXAMPLES
def test_forecast_of_now_equals_the_log_read_now(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    rollup = data.draw(st.sampled_from(["cumulative", "single"]))
    rows = _get(client, headers, "forecast", rollup=rollup)["rows"]  # from the maintained totals
    expected = brute.forecast(stories, datetime.now(UTC))
    assert [r["month"] for r in rows] == sorted(expected)
    for row in rows:
        month = expected[row["month"]]
        closed = month["won"]
        commit = month["committed"] + (closed if rollup == "cumulative" else 0)
        best = month["best_case"] + (commit if rollup == "cumulative" else 0)
        pipeline = month["pipeline"]
        if rollup == "cumulative":
            pipeline += month["best_case"] + month["committed"]
        got = [_money(row[k]) for k in ("closed", "commit", "best_case", "pipeline")]
        assert got == [a.quantize(CENT) for a in (closed, commit, best, pipeline)]
        assert _money(row["weighted_pipeline"]) == month["weighted"].quantize(CENT)


@given(data=st.data())
@EXAMPLES
def test_waterfall_identity_and_lines(
    world: Any, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    # A period that begins on a day a deal closes, so that its lines are seldom all empty.
    closing = sorted({r.value for r in _rows(stories) if r.field in brute.DATES and r.value})
    first = date.fromisoformat(data.draw(st.sampled_from(closing or ["2026-03-01"])))
    last = first + timedelta(days=data.draw(st.integers(1, 120)))
    t0 = data.draw(moments)
    t1 = t0 + timedelta(days=data.draw(st.integers(0, 200)))
    params = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "start": _iso(t0),
        "as_of": _iso(t1),
        "details": "true",
    }
    owner = data.draw(st.sampled_from([None, *owners]))  # the owner at as_of
    params |= {"owner_id": str(owner)} if owner else {}
    rows = {r["line"]: r for r in _get(client, headers, "waterfall", **params)["rows"]}
    value = {line: _money(row["value"]) for line, row in rows.items()}
    assert (
        value["beginning"]
        + value["new"]
        + value["increased"]
        - value["decreased"]
        - value["pulled_out"]
        - value["pushed_out"]
        - value["won"]
        - value["lost"]
        == value["ending"]
    )
    expected = brute.waterfall(stories, first, last, t0, t1, owner)
    for line, row in rows.items():
        count, amount = expected.get(line, (0, Decimal(0)))
        assert (row["count"], value[line]) == (count, amount.quantize(CENT)), line
        assert len(row["opportunity_ids"]) == count


@given(data=st.data())
@EXAMPLES
def test_win_loss_counts_and_values(
    world: Any, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    first = date(2026, 1, 1) + timedelta(days=data.draw(st.integers(0, 300)))
    last = first + timedelta(days=data.draw(st.integers(1, 200)))
    moment = data.draw(moments)
    if data.draw(st.booleans()):  # every close by then: the medians and tallies of many deals
        first, last = date(2025, 12, 1), date(2027, 3, 1)
        moment = max(row.effective_at for story in stories for row in story.rows)
    params = {"from": first.isoformat(), "to": last.isoformat(), "as_of": _iso(moment)}
    # The owner or the process as of the moment, from the rows.
    owner = data.draw(st.sampled_from([None, *owners]))
    process = data.draw(st.sampled_from([None, *sorted(brute.PROCESSES)]))
    params |= {"owner_id": str(owner)} if owner else {}
    params |= {"process": process} if process else {}
    answer = _get(client, headers, "win-loss", **params)
    row = answer["rows"][0]
    won = lost = 0
    won_value = lost_value = Decimal(0)
    highest: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    cycles: list[timedelta] = []
    for deal in brute.closed_at(stories, moment, owner, process):
        state = deal.state
        if not state.get("actual_close_date"):
            continue
        if not first <= date.fromisoformat(state["actual_close_date"]) < last:
            continue
        if state["state"] == "won":
            won += 1
            won_value += (
                Decimal(state["actual_value"]) if state.get("actual_value") else brute.value(state)
            )
        else:
            lost += 1
            lost_value += brute.value(state)
            highest[max(deal.entered, key=brute.PHASES.index, default="")] += 1
            reasons[state["status_reason"]] += 1
        cycles.append(deal.cycle)
    assert (row["won"], row["lost"]) == (won, lost)
    assert (_money(row["won_value"]), _money(row["lost_value"])) == (
        won_value.quantize(CENT),
        lost_value.quantize(CENT),
    )
    assert row["win_rate"] == (None if won + lost == 0 else round(won / (won + lost), 4))
    assert {t["key"]: t["count"] for t in answer["phase_before_loss"]} == highest
    assert {t["key"]: t["count"] for t in answer["loss_reasons"]} == reasons
    assert row["median_cycle_days_closed"] == _median_days(cycles)
    open_then = [brute.state_at(story.rows, moment) for story in stories]
    assert row["open"] == sum(
        1
        for state in open_then
        if state is not None
        and state.get("state") == "open"
        and (owner is None or state.get("owner_id") == str(owner))
        and (process is None or state.get("process_key") == process)
    )


def _median_days(cycles: list[timedelta]) -> float | None:
    if not cycles:
        return None
    days = statistics.median(
        Fraction(c // timedelta(microseconds=1), 86_400_000_000) for c in cycles
    )
    exact = Decimal(days.numerator) / Decimal(days.denominator)
    return float(exact.quantize(Decimal("0.0001")))


@given(data=st.data())
@EXAMPLES
def test_time_in_stage(world: Any, factory: sessionmaker[Session], data: st.DataObject) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    start = data.draw(moments)
    end = start + timedelta(days=data.draw(st.integers(1, 300)))
    moment = data.draw(moments)
    measure = data.draw(st.sampled_from(["cumulative", "latest"]))
    params = {"from": _iso(start), "to": _iso(end), "as_of": _iso(moment), "measure": measure}
    owner = data.draw(st.sampled_from([None, *owners]))  # as of the moment, from the spans
    if owner is not None:
        params["owner_id"] = str(owner)
    rows = _get(client, headers, "time-in-stage", **params)["rows"]
    expected = brute.time_in_stage(stories, start, end, moment, owner, measure)
    assert {(r["process"], r["stage"]) for r in rows} == set(expected)
    for row in rows:
        durations = expected[(row["process"], row["stage"])]
        assert row["completed"] == sum(done for _, done in durations)
        assert row["still_open"] == sum(not done for _, done in durations)
        median = brute.kaplan_meier_median(durations)
        assert row["median_days"] == (
            None if median is None else float(median.quantize(Decimal("0.0001")))
        )
        assert row["mean_completed_days"] == _mean_days(d for d, done in durations if done)


def _mean_days(days: Iterable[Decimal]) -> float | None:
    """The mean of stays given in days, summed exactly: in microseconds, which each day
    count came from, so that a mean on a rounding boundary rounds as the report's does."""
    micros = [int((d * MICROSECONDS_A_DAY).to_integral_value()) for d in days]
    if not micros:
        return None
    mean = Decimal(sum(micros)) / MICROSECONDS_A_DAY / len(micros)
    return float(mean.quantize(Decimal("0.0001")))


@given(data=st.data())
@EXAMPLES
def test_calibration_counts(
    world: Any, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    moment = data.draw(moments)
    if data.draw(st.booleans()):  # every close by then
        moment = max(row.effective_at for story in stories for row in story.rows)
    owner = data.draw(st.sampled_from([None, *owners]))  # as of the moment, from the rows
    params = {"as_of": _iso(moment)} | ({"owner_id": str(owner)} if owner else {})
    answer = _get(client, headers, "calibration", **params)
    assert answer["closed"] == len(brute.closed_at(stories, moment, owner))
    expected = brute.reached_before_close(stories, moment, owner)
    for row in answer["rows"]:
        won, lost = expected.get(row["pipeline_phase"], (0, 0))
        assert (row["won"], row["lost"]) == (won, lost), row["pipeline_phase"]
        p0 = Decimal(row["stage_default"]) / 100
        rate = (won + 10 * p0) / (won + lost + 10)
        assert row["empirical_rate"] == float(rate.quantize(Decimal("0.0001")))
        assert row["insufficient_history"] == (won + lost < 20)


@given(data=st.data())
@EXAMPLES
def test_win_loss_and_calibration_of_now_read_from_the_closed_deals_equal_the_log(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    """Without ``as_of`` these two read the closed deals' rows that hold now, filtered on
    the records (decision 0031); with an ``as_of`` after every row, those holding it,
    filtered on the owner the rows keep (decision 0038). Both answers are whole-equal, and
    the counts equal the brute force's."""
    client, headers, owners, units = world
    now = datetime.now(UTC)
    stories = brute.ended_by(data.draw(brute.histories(owners)), now - timedelta(days=1))
    _reset(factory, stories, units)
    first = date(2026, 1, 1) + timedelta(days=data.draw(st.integers(0, 300)))
    window = {"from": first.isoformat(), "to": (first + timedelta(days=120)).isoformat()}
    later = {"as_of": _iso(now + timedelta(seconds=1))}
    mine = {"owner_id": str(data.draw(st.sampled_from(owners)))}
    asked = (("win-loss", window), ("calibration", window), ("calibration", mine))
    for report, params in asked:
        of_now = _get(client, headers, report, **params)
        then = _get(client, headers, report, **params, **later)
        assert _rows_of(of_now) == _rows_of(then), report
    answer = _get(client, headers, "calibration")
    expected = brute.reached_before_close(stories, now)
    for row in answer["rows"]:
        assert (row["won"], row["lost"]) == expected.get(row["pipeline_phase"], (0, 0))


@given(data=st.data())
@EXAMPLES
def test_time_in_stage_of_now_equals_it_as_of_its_instant(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    """Without ``as_of``, time in stage keeps an owner's stints by the records' owner now
    (decision 0032); asked as of the instant that answer names, by the owner the spans hold
    then (decision 0037). Both answers are whole-equal; without an owner, the counts equal
    the brute force's."""
    client, headers, owners, units = world
    now = datetime.now(UTC)
    ended = now - timedelta(days=data.draw(st.integers(0, 120)))
    stories = brute.ended_by(data.draw(brute.histories(owners)), ended)
    _reset(factory, stories, units)
    start = now - timedelta(days=data.draw(st.integers(1, 500)))
    end = start + timedelta(days=data.draw(st.integers(1, 600)))
    measure = data.draw(st.sampled_from(["cumulative", "latest"]))
    params = {"from": _iso(start), "to": _iso(end), "measure": measure}
    owned = {**params, "owner_id": str(data.draw(st.sampled_from(owners)))}
    of_now = _get(client, headers, "time-in-stage", **owned)
    at = of_now["convention"]["as_of"]
    assert of_now["rows"] == _get(client, headers, "time-in-stage", as_of=at, **owned)["rows"]
    if measure == "cumulative":
        everyone = _get(client, headers, "time-in-stage", **params)
        at = everyone["convention"]["as_of"]
        expected = brute.time_in_stage(stories, start, end, datetime.fromisoformat(at))
        assert {
            (r["process"], r["stage"]): r["completed"] + r["still_open"] for r in everyone["rows"]
        } == {stage: len(durations) for stage, durations in expected.items()}


@given(data=st.data())
@EXAMPLES
def test_flow_of_now_equals_it_as_of_its_instant(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    """Flow counts the phase moves (decision 0033): without ``as_of``, an owner's by the
    records' owner now; asked as of the instant that answer names, by the owner the spans
    hold then (decision 0037). Both answers are whole-equal; without an owner, the entries
    equal the brute force's."""
    client, headers, owners, units = world
    now = datetime.now(UTC)
    ended = now - timedelta(days=data.draw(st.integers(0, 120)))
    stories = brute.ended_by(data.draw(brute.histories(owners)), ended)
    _reset(factory, stories, units)
    start = now - timedelta(days=data.draw(st.integers(1, 500)))
    end = start + timedelta(days=data.draw(st.integers(1, 600)))
    params = {"from": _iso(start), "to": _iso(end)}
    owned = {**params, "owner_id": str(data.draw(st.sampled_from(owners)))}
    of_now = _get(client, headers, "flow", **owned)
    at = of_now["convention"]["as_of"]
    assert of_now["rows"] == _get(client, headers, "flow", as_of=at, **owned)["rows"]
    everyone = _get(client, headers, "flow", **params)
    counted = brute.flow(
        stories, start, end, datetime.fromisoformat(everyone["convention"]["as_of"])
    )
    assert {r["pipeline_phase"]: r["entries"] for r in everyone["rows"] if r["entries"]} == {
        phase: tally["entries"] for phase, tally in counted.items() if tally["entries"]
    }


@given(data=st.data())
@EXAMPLES
def test_cohorts_and_conversion_of_now_equal_them_as_of_their_instant(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    """Without ``as_of``, the cohort funnels and conversion read the members as they are now
    and their phase entries (decision 0033); asked as of the instant that answer names, each
    member's span then (decision 0037). Both answers are whole-equal, and the counts the
    brute force's."""
    client, headers, owners, units = world
    now = datetime.now(UTC)
    ended = now - timedelta(days=data.draw(st.integers(0, 120)))
    stories = brute.ended_by(data.draw(brute.histories(owners)), ended)
    _reset(factory, stories, units)
    start = now - timedelta(days=data.draw(st.integers(1, 500)))
    end = start + timedelta(days=data.draw(st.integers(1, 600)))
    mode = data.draw(st.sampled_from(["ordered", "any"]))
    cohort = data.draw(st.sampled_from(["created", "entered"]))
    params = {"from": _iso(start), "to": _iso(end), "mode": mode, "cohort": cohort}
    if data.draw(st.booleans()):
        params["owner_id"] = str(data.draw(st.sampled_from(owners)))
    for report in ("funnel", "conversion"):
        of_now = _get(client, headers, report, **params)
        at = of_now["convention"]["as_of"]
        from_log = _get(client, headers, report, as_of=at, **params)
        assert _rows_of(of_now) == _rows_of(from_log), report
    if cohort == "created" and "owner_id" not in params:
        expected = brute.cohort(stories, start, end, datetime.fromisoformat(at), mode)
        assert [r["reached"] for r in of_now["rows"]] == expected


def _rows_of(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "convention"}
