"""Lists, search and the funnel count exactly the rows the matrix says are readable.

The administrator places records in every position; the expectation is the readable positions
of :mod:`tests.security.expectations`, never the product's own scope code.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from tests.security.expectations import POSITIONS, allowed
from tests.security.world import OWNED_THINGS, OWNER_OF, TABLE_OF, World, positions_of

ROLES = ("salesperson", "sales-manager")
LISTED = OWNED_THINGS  # accounts, contacts, opportunities, and leads once the API has them
PER_POSITION = 2  # records of each position; the second one's name holds the search word
NEEDLE = "needle"
CENT = Decimal("0.01")


def place_all(world: World, things: str) -> None:
    """``PER_POSITION`` records in every position of ``things`` (once per world)."""
    if things in world.placed:
        return
    for position in positions_of(TABLE_OF[things]):
        for number in range(PER_POSITION):
            word = f" {NEEDLE}" if number == 1 else ""
            name = world.unique(f"{position}{word}")
            fields: dict[str, Any] = {}
            if things == "opportunities":
                fields = {
                    "estimated_value": 1000 * (number + 1) + 7,
                    "probability": 15 + 10 * number,
                }
            world.place(things, position, name, **fields)


def readable_ids(world: World, things: str, *, owner: str | None = None) -> set[str]:
    """The placed records the matrix says the actor reads (optionally of one owner)."""
    table = TABLE_OF[things]
    return {
        record["id"]
        for position, record in world.placed[things]
        if allowed(world.role, table, "read", POSITIONS[position])
        and (owner is None or OWNER_OF[position] == owner)
    }


def every_page(world: World, path: str, params: dict[str, str]) -> list[str]:
    """The ids of every page of a list, following ``next_cursor``, as the actor."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        query = params | {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        answer = world.client.get(path, params=query, headers=world.actor)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["items"]) <= 3
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("things", LISTED)
def test_lists_and_search_return_exactly_the_readable_rows(
    world: World, role: str, things: str
) -> None:
    place_all(world, things)
    path = f"/api/v1/{things}"
    readable = readable_ids(world, things)
    assert readable, "the scene gives every role something to read"

    listed = every_page(world, path, {})
    assert len(listed) == len(set(listed)), "a row listed twice across pages"
    assert set(listed) == readable

    texts = {
        record["id"]: " ".join(str(value) for value in record.values())
        for _, record in world.placed[things]
    }
    searched = every_page(world, path, {"q": NEEDLE})
    expected = {record_id for record_id in readable if NEEDLE in texts[record_id]}
    assert len(expected) == len(readable) // PER_POSITION
    assert sorted(searched) == sorted(expected)

    if things == "opportunities":
        for owner in ("colleague", "child", "easterner"):
            filtered = every_page(world, path, {"owner_id": str(world.users[owner])})
            assert sorted(filtered) == sorted(readable_ids(world, things, owner=owner)), owner


def expected_funnel(
    world: World, views: dict[str, dict[str, Any]], owners: set[str] | None
) -> list[dict[str, Any]]:
    """Count, value and weighted value per phase of the readable open opportunities."""
    phases: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for position, record in world.placed["opportunities"]:
        if not allowed(world.role, "opportunity", "read", POSITIONS[position]):
            continue
        if owners is not None and OWNER_OF[position] not in owners:
            continue
        view = views[record["id"]]
        if view["state"] != "open":
            continue
        value = Decimal(str(view["estimated_value"] or 0))
        totals = phases[view["pipeline_phase"] or ""]
        totals[0] += 1
        totals[1] += value
        totals[2] += value * Decimal(view["probability"] or 0) / 100
    return [
        {
            "pipeline_phase": phase,
            "count": int(count),
            "estimated_value": value.quantize(CENT),
            "weighted_value": weighted.quantize(CENT),
        }
        for phase, (count, value, weighted) in sorted(phases.items())
    ]


def funnel(world: World, params: dict[str, str]) -> list[dict[str, Any]]:
    answer = world.client.get("/api/v1/analytics/funnel", params=params, headers=world.actor)
    assert answer.status_code == 200, answer.text
    return [
        phase
        | {
            "estimated_value": Decimal(str(phase["estimated_value"])).quantize(CENT),
            "weighted_value": Decimal(str(phase["weighted_value"])).quantize(CENT),
        }
        for phase in answer.json()["phases"]
    ]


def vary_the_phases(world: World) -> None:
    """The administrator moves the first opportunity of every other position to Develop and wins
    the last one of every third, so the funnel has several phases and closed rows to leave out."""
    account = world.create("accounts", "admin", "Funnel account")
    contact = world.create("contacts", "admin", "Funnel contact")
    links = {"account_id": account["id"], "contact_id": contact["id"]}
    by_position: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for position, record in world.placed["opportunities"]:
        by_position[position].append(record)
    for index, records in enumerate(by_position.values()):
        first, last = records[0]["id"], records[-1]["id"]
        if index % 2 == 0:
            base = f"/api/v1/opportunities/{first}"
            answer = world.client.patch(base, json=links, headers=world.admin)
            assert answer.status_code == 200, answer.text
            answer = world.client.post(f"{base}/process/next", headers=world.admin)
            assert answer.status_code == 200, answer.text
        if index % 3 == 0:
            won = f"/api/v1/opportunities/{last}/win"
            answer = world.client.post(won, json={}, headers=world.admin)
            assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("role", ROLES, scope="module")
def test_the_funnel_counts_only_readable_open_opportunities(world: World, role: str) -> None:
    place_all(world, "opportunities")
    vary_the_phases(world)
    answer = world.client.get("/api/v1/opportunities?limit=200", headers=world.admin)
    assert answer.status_code == 200, answer.text
    views = {view["id"]: view for view in answer.json()["items"]}
    assert len({view["pipeline_phase"] for view in views.values()}) >= 2
    assert {view["state"] for view in views.values()} == {"open", "won"}

    everything = expected_funnel(world, views, None)
    assert len(everything) >= 2, "readable open opportunities in several phases"
    assert funnel(world, {}) == everything
    for owner in ("actor", "colleague", "child", "easterner", "rooter"):
        params = {"owner_id": str(world.users[owner])}
        assert funnel(world, params) == expected_funnel(world, views, {owner}), owner
    unit_owners = {"East": {"easterner"}, "West-Child": {"child"}, "West": {"actor", "colleague"}}
    for unit, owners in unit_owners.items():
        params = {"business_unit_id": str(world.units[unit])}
        assert funnel(world, params) == expected_funnel(world, views, owners), unit
    # and the opportunity list agrees with the funnel's counts
    listed = every_page(world, "/api/v1/opportunities", {"state": "open"})
    expected_open = sum(phase["count"] for phase in expected_funnel(world, views, None))
    assert len(listed) == expected_open
