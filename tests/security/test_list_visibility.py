"""The web UI's opportunity lists and board columns hold exactly the rows the matrix says the
caller reads, for each built-in role: every list view, sort and filter, counted and paged, and
every board column's total and cards (issue 14's lists and board at size keep row-level security
whole, however their queries are shaped)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from oppflow.analytics import lists
from oppflow.analytics import service as analytics
from oppflow.analytics.lists import SORT_COLUMNS
from oppflow.analytics.schemas import FunnelFilters, OpportunitySearch
from oppflow.db import unit_of_work
from oppflow.security import scope
from oppflow.security import service as security_service
from oppflow.security.privileges import BUILTIN_ROLES
from tests.security.test_visibility import NEEDLE, place_all, readable_ids, vary_the_phases
from tests.security.world import OWNER_OF, World

VIEWS = ("all", "open", "closed", "my_open", "member")
SORTS = tuple(SORT_COLUMNS)


def scene(world: World) -> None:
    """The opportunities of every position, some moved on and some won (once per world)."""
    place_all(world, "opportunities")
    if "varied" not in world.placed:
        vary_the_phases(world)
        # Close dates on every third, so a sort by it pages through dated rows, then undated.
        for number, (_, record) in enumerate(world.placed["opportunities"]):
            if number % 3 == 0:
                day = f"2027-{1 + number % 12:02d}-{1 + number % 5:02d}"
                path = f"/api/v1/opportunities/{record['id']}"
                answer = world.client.patch(
                    path, json={"estimated_close_date": day}, headers=world.admin
                )
                assert answer.status_code == 200, answer.text
        world.placed["varied"] = []


def admin_views(world: World) -> dict[str, dict[str, Any]]:
    answer = world.client.get("/api/v1/opportunities?limit=200", headers=world.admin)
    assert answer.status_code == 200, answer.text
    return {view["id"]: view for view in answer.json()["items"]}


def expected_in_view(world: World, views: dict[str, dict[str, Any]], view: str) -> set[str]:
    positions = {record["id"]: position for position, record in world.placed["opportunities"]}
    wanted = set()
    for record_id in readable_ids(world, "opportunities"):
        state = views[record_id]["state"]
        if (
            view == "all"
            or (view == "open" and state == "open")
            or (view == "closed" and state in ("won", "lost"))
            or (view == "my_open" and state == "open" and OWNER_OF[positions[record_id]] == "actor")
            or (view == "member" and positions[record_id] == "sales_team")
        ):
            wanted.add(record_id)
    return wanted


def listed(world: World, search: OpportunitySearch) -> tuple[list[str], set[int]]:
    """Every page of a list view as the actor: the ids in order, and the totals it gave."""
    ids: list[str] = []
    totals: set[int] = set()
    with unit_of_work(world.factory) as session:
        actor = security_service.actor_by_username(session, "actor")
        for number in range(1, 100):
            rows, total = analytics.search_opportunities(
                session, actor=actor, search=search.model_copy(update={"page": number})
            )
            totals.add(total)
            ids += [str(row.id) for row in rows]
            if not rows or number * search.per_page >= total:
                return ids, totals
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("role", list(BUILTIN_ROLES), scope="module")
def test_each_list_view_pages_exactly_the_readable_rows(
    world: World, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every view, sort and direction, paged across ties (phases, probabilities) and into the
    rows without a value, both sorted whole (a small view) and read in index order state by
    state (a large one, here every view), with the same rows in the same order."""
    scene(world)
    views = admin_views(world)
    for view in VIEWS:
        expected = expected_in_view(world, views, view)
        for sorted_up_to in (lists.SORTED_UP_TO, 0):
            monkeypatch.setattr(lists, "SORTED_UP_TO", sorted_up_to)
            for sort in SORTS:
                for descending in (False, True):
                    search = OpportunitySearch(
                        view=view, sort=sort, descending=descending, per_page=3
                    )
                    ids = lists_exactly(world, search, expected)
                    assert ids == in_order(views, expected, sort, descending), (view, sort)
        with_needle = {i for i in expected if NEEDLE in views[i]["name"]}
        lists_exactly(world, OpportunitySearch(view=view, q=NEEDLE, per_page=2), with_needle)
        for phase in {views[i]["pipeline_phase"] for i in expected}:
            in_phase = {i for i in expected if views[i]["pipeline_phase"] == phase}
            search = OpportunitySearch(view=view, pipeline_phase=phase, per_page=2)
            lists_exactly(world, search, in_phase)
        for owner in ("actor", "colleague", "easterner"):
            mine = {i for i in expected if views[i]["owner_id"] == str(world.users[owner])}
            search = OpportunitySearch(view=view, owner_id=world.users[owner], per_page=4)
            lists_exactly(world, search, mine)
        west = {str(world.users[name]) for name in ("actor", "colleague", "bystander")}
        unit_rows = {i for i in expected if views[i]["owner_id"] in west}
        search = OpportunitySearch(view=view, business_unit_id=world.units["West"], per_page=4)
        lists_exactly(world, search, unit_rows)


def lists_exactly(world: World, search: OpportunitySearch, expected: set[str]) -> list[str]:
    ids, totals = listed(world, search)
    assert len(ids) == len(set(ids)), (search, "a row listed twice")
    assert set(ids) == expected, search
    assert totals == {len(expected)}, search
    return ids


def in_order(
    views: dict[str, dict[str, Any]], ids: set[str], sort: str, descending: bool
) -> list[str]:
    """The list's order: rows with a value by it, then by id, both one way (descending is the
    valued rows backwards); then rows without a value, by id."""
    valued = sorted(i for i in ids if views[i][sort] is not None)
    valued.sort(key=lambda i: (sort_key(views[i][sort]), i), reverse=descending)
    return valued + sorted(i for i in ids if views[i][sort] is None)


def sort_key(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, int | float) else value


@pytest.mark.parametrize("role", list(BUILTIN_ROLES), scope="module")
def test_each_board_column_totals_and_shows_exactly_the_readable_open_rows(
    world: World, role: str
) -> None:
    scene(world)
    views = admin_views(world)
    open_rows = expected_in_view(world, views, "open")
    phases = {views[i]["pipeline_phase"] for i in open_rows}
    assert len(phases) >= 2
    filters: list[tuple[FunnelFilters, set[str]]] = [(FunnelFilters(), open_rows)]
    for owner in ("actor", "easterner"):
        user = str(world.users[owner])
        mine = {i for i in open_rows if views[i]["owner_id"] == user}
        filters.append((FunnelFilters(owner_id=uuid.UUID(user)), mine))
    with unit_of_work(world.factory) as session:
        actor = security_service.actor_by_username(session, "actor")
        for funnel_filters, rows in filters:
            funnel = analytics.funnel(session, actor=actor, filters=funnel_filters)
            counts = {phase.pipeline_phase: phase.count for phase in funnel.phases}
            for phase in phases:
                in_phase = {i for i in rows if views[i]["pipeline_phase"] == phase}
                assert counts.get(phase, 0) == len(in_phase), (funnel_filters, phase)
                for limit in (1, 1000):
                    cards = analytics.board_cards(
                        session, actor=actor, filters=funnel_filters, phase=phase, limit=limit
                    )
                    ids = [str(card.id) for card in cards]
                    assert len(ids) == len(set(ids)) == min(limit, len(in_phase))
                    assert set(ids) <= in_phase, (funnel_filters, phase, limit)
                    if limit == 1000:
                        assert set(ids) == in_phase, (funnel_filters, phase)


@pytest.mark.parametrize("role", ["salesperson"], scope="module")
def test_many_granted_records_are_read_in_slices_with_the_same_rows(
    world: World, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past :data:`GRANTED_SLICE` granted ids, counts sum one part per slice and scans fall
    back to the correlated checks: the same rows either way."""
    scene(world)
    views = admin_views(world)
    monkeypatch.setattr(scope, "GRANTED_SLICE", 1)
    for view in ("all", "open", "member"):
        expected = expected_in_view(world, views, view)
        lists_exactly(world, OpportunitySearch(view=view, per_page=4), expected)
    test_each_board_column_totals_and_shows_exactly_the_readable_open_rows(world, role)
