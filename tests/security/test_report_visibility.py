"""Every report over a caller's token equals the same report computed, by brute force, over
exactly the opportunities the matrix says that caller reads (ANALYTICS.md §5), for each
built-in role: depth, business units, shares with the user and their team, sales teams."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from oppflow.analytics.repository import readable_ids as readable_ids_of
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, OpportunityChange
from oppflow.security import scope
from oppflow.security import service as security_service
from oppflow.security.privileges import BUILTIN_ROLES
from oppflow.security.scope import Grants, granted, read_scope
from tests.analytics import history as brute
from tests.security.test_visibility import place_all, readable_ids, vary_the_phases
from tests.security.world import World

CENT = Decimal("0.01")
FROM, TO = "2000-01-01", "2029-01-01"


def stories_of(world: World, ids: set[str]) -> list[brute.History]:
    """The readable opportunities' change logs, as the brute force reads them."""
    query = select(OpportunityChange).order_by(OpportunityChange.seq)
    found: dict[uuid.UUID, brute.History] = {}
    with unit_of_work(world.factory) as session:
        for change in session.scalars(query):
            if str(change.opportunity_id) not in ids:
                continue
            story = found.setdefault(change.opportunity_id, brute.History(change.opportunity_id))
            story.rows.append(
                brute.Row(
                    change.opportunity_id,
                    change.field,
                    change.new_value,
                    change.effective_at,
                    change.recorded_at,
                    change.seq,
                )
            )
    return list(found.values())


def report(world: World, name: str, **params: str) -> Any:
    answer = world.client.get(f"/api/v1/analytics/{name}", params=params, headers=world.actor)
    assert answer.status_code == 200, answer.text
    return answer.json()


def money(number: float | None) -> Decimal:
    return Decimal(str(number or 0)).quantize(CENT)


@pytest.mark.parametrize("role", list(BUILTIN_ROLES), scope="module")
def test_each_report_counts_exactly_the_readable_opportunities(world: World, role: str) -> None:
    place_all(world, "opportunities")
    vary_the_phases(world)
    reports_count_exactly_the_readable_opportunities(world)


def reports_count_exactly_the_readable_opportunities(world: World) -> None:
    readable = readable_ids(world, "opportunities")
    stories = stories_of(world, readable)
    assert len(stories) == len(readable)
    now = datetime.now(UTC) + timedelta(seconds=1)
    when = {"as_of": now.isoformat()}
    period = {"from": FROM, "to": TO} | when

    funnel = report(world, "funnel", **when)["phases"]
    expected = brute.snapshot(stories, now)
    assert {p["pipeline_phase"]: (p["count"], money(p["estimated_value"])) for p in funnel} == {
        phase: (count, total.quantize(CENT)) for phase, (count, total, _) in expected.items()
    }

    # As of a past instant (the last change placed), from the spans (decision 0035).
    last = max(row.effective_at for story in stories for row in story.rows)
    past = report(world, "funnel", as_of=last.isoformat())["phases"]
    then = brute.snapshot(stories, last)
    assert {p["pipeline_phase"]: (p["count"], money(p["estimated_value"])) for p in past} == {
        phase: (count, total.quantize(CENT)) for phase, (count, total, _) in then.items()
    }

    cohort = report(world, "funnel", mode="any", **period)["phases"]
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
    assert [p["count"] for p in cohort] == brute.cohort(stories, start, end, now, "any")

    flow = report(world, "flow", **period)["rows"]
    counted = brute.flow(stories, start, end, now)
    assert {r["pipeline_phase"]: r["entries"] for r in flow if r["entries"]} == {
        phase: tally["entries"] for phase, tally in counted.items() if tally["entries"]
    }

    forecast = report(world, "forecast", **when)["rows"]
    months = brute.forecast(stories, now)
    assert {r["month"]: money(r["pipeline"]) for r in forecast} == {
        month: (m["pipeline"] + m["best_case"] + m["committed"]).quantize(CENT)
        for month, m in months.items()
    }

    closed = report(world, "win-loss", **period)["rows"][0]
    # Of now (the rows that hold, filtered on the records), as of just after now (the rows
    # holding it, filtered on their own owner): the same.
    for name in ("win-loss", "calibration"):
        of_now = report(world, name, **{"from": FROM, "to": TO})
        assert of_now["rows"] == report(world, name, **period)["rows"], name
    # Without a period, calibration reads every closed deal: from the readable records, each
    # one's rows by their key, now and as of an instant (decision 0038).
    closed_now = len(brute.closed_at(stories, now))
    assert report(world, "calibration")["closed"] == closed_now
    assert report(world, "calibration", **when)["closed"] == closed_now
    # The cohort of now, from the members now and their phase moves: the log's answer as of
    # the same instant.
    span = {"from": FROM, "to": TO, "mode": "ordered"}
    members = report(world, "conversion", **span)
    assert [r["reached"] for r in members["rows"]] == brute.cohort(
        stories, start, end, datetime.fromisoformat(members["convention"]["as_of"]), "ordered"
    )
    since = {"as_of": members["convention"]["as_of"]}
    assert members["rows"] == report(world, "conversion", **span, **since)["rows"]

    # Flow of now, from the phase moves: the log's answer as of the same instant.
    moved = report(world, "flow", **{"from": FROM, "to": TO})
    then = {"as_of": moved["convention"]["as_of"]}
    assert moved["rows"] == report(world, "flow", **{"from": FROM, "to": TO}, **then)["rows"]
    assert {r["pipeline_phase"]: r["entries"] for r in moved["rows"] if r["entries"]} == {
        phase: tally["entries"] for phase, tally in counted.items() if tally["entries"]
    }

    # Time in stage of now, from the stage stints: the log's answer as of the same instant.
    stays = report(world, "time-in-stage", **{"from": FROM, "to": TO})
    at = {"as_of": stays["convention"]["as_of"]}
    assert stays["rows"] == report(world, "time-in-stage", **{"from": FROM, "to": TO}, **at)["rows"]
    counted = brute.time_in_stage(stories, start, end, datetime.fromisoformat(at["as_of"]))
    assert {
        (r["process"], r["stage"]): r["completed"] + r["still_open"] for r in stays["rows"]
    } == {stage: len(durations) for stage, durations in counted.items()}
    states = Counter((brute.state_at(s.rows, now) or {}).get("state") for s in stories)
    assert (closed["won"], closed["lost"]) == (states["won"], states["lost"])
    assert closed["open"] == states["open"]

    first, last = date(2000, 1, 1), date(2029, 1, 1)
    start_at = now - timedelta(days=1)
    lines = report(
        world, "waterfall", start=start_at.isoformat(), **{"from": FROM, "to": TO}, **when
    )["rows"]
    expected_lines = brute.waterfall(stories, first, last, start_at, now)
    for line in lines:
        count, total = expected_lines.get(line["line"], (0, Decimal(0)))
        assert (line["count"], money(line["value"])) == (count, total.quantize(CENT))

    stale = report(world, "stale")
    assert {r["opportunity_id"] for r in stale["rows"]} <= readable


@pytest.mark.parametrize("role", list(BUILTIN_ROLES), scope="module")
def test_the_ids_read_one_way_at_a_time_are_the_readable_ones(world: World, role: str) -> None:
    """The ids a summary's rows are tested against (``readable_ids``, a union of
    ``Grants.ways``) are exactly those :func:`read_scope` reads, for every built-in role."""
    place_all(world, "opportunities")
    with unit_of_work(world.factory) as session:
        actor = security_service.actor_by_username(session, "actor")
        by_scope = set(
            session.scalars(select(Opportunity.id).where(read_scope(actor, Opportunity)))
        )
        by_ways = set(
            session.scalars(readable_ids_of(session, granted(session, actor, Opportunity)))
        )
    assert by_ways == by_scope
    assert {str(found) for found in by_scope} == readable_ids(world, "opportunities")


@pytest.mark.parametrize("role", ["salesperson"], scope="module")
def test_many_granted_records_are_read_by_the_reports_in_the_statement(
    world: World, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past :data:`GRANTED_SLICE` granted ids, the reports over a period read the grants in
    the statement rather than bind each id: the same answers."""
    monkeypatch.setattr(scope, "GRANTED_SLICE", 1)
    place_all(world, "opportunities")
    with unit_of_work(world.factory) as session:
        actor = security_service.actor_by_username(session, "actor")
        assert len(granted(session, actor, Opportunity).ids) > scope.GRANTED_SLICE
    reports_count_exactly_the_readable_opportunities(world)
    test_the_ids_read_one_way_at_a_time_are_the_readable_ones(world, role)


@pytest.mark.parametrize("role", ["salesperson"], scope="module")
def test_grants_past_the_databases_bound_value_cap_are_read_in_the_statement(
    world: World, role: str
) -> None:
    """70,000 granted ids (psycopg sends at most 65,535 values with a statement; SQLite's
    cap depends on its build, 32,766 by default): ``readable_ids`` reads the grants inside
    its statement, and reads the same rows as :func:`read_scope`. Binding each id failed it
    on PostgreSQL."""
    place_all(world, "opportunities")
    with unit_of_work(world.factory) as session:
        actor = security_service.actor_by_username(session, "actor")
        found = granted(session, actor, Opportunity)
        assert found.ids
        many = Grants(actor, Opportunity, [*found.ids, *(uuid.uuid4() for _ in range(70_000))])
        by_ways = set(session.scalars(readable_ids_of(session, many)))
        readable = select(Opportunity.id).where(read_scope(actor, Opportunity))
        assert by_ways == set(session.scalars(readable))
