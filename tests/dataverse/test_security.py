"""Row-level security through the Dataverse API is exactly the matrix's, as in /api/v1, for the
salesperson, the sales manager and the system administrator: the actor lists, reads and changes
the same records through both faces, and what they may not read answers 404 in the OData error
shape. (Creates, deletes, the actions and the stage gates: ``test_security_writes.py``.)"""

from __future__ import annotations

from typing import Any

import pytest

from oppflow.dataverse.entities import ENTITY_SETS
from tests.security.expectations import POSITIONS, allowed
from tests.security.world import OWNED_THINGS, TABLE_OF, World, positions_of

API = "/api/data/v9.2"
ROLES = ("salesperson", "sales-manager", "system-administrator")


def place_all(world: World, things: str) -> None:
    if things not in world.placed:
        for position in positions_of(TABLE_OF[things]):
            world.place(things, position, world.unique(position))


def dataverse_pages(world: World, things: str) -> list[str]:
    """Every key the actor lists, following absolute @odata.nextLink pages of 2."""
    key = ENTITY_SETS[things].key
    url: str | None = f"{API}/{things}?$select={key}"
    keys: list[str] = []
    while url:
        answer = world.client.get(url, headers={**world.actor, "Prefer": "odata.maxpagesize=2"})
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        keys += [row[key] for row in page["value"]]
        url = page.get("@odata.nextLink")
    return keys


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("things", OWNED_THINGS)
def test_the_actor_lists_and_reads_exactly_the_readable_records(
    world: World, role: str, things: str
) -> None:
    place_all(world, things)
    table = TABLE_OF[things]
    readable = {
        record["id"]
        for position, record in world.placed[things]
        if allowed(world.role, table, "read", POSITIONS[position])
    }
    listed = dataverse_pages(world, things)
    assert sorted(listed) == sorted(readable)
    for _, record in world.placed[things]:
        answer = world.client.get(f"{API}/{things}({record['id']})", headers=world.actor)
        v1 = world.client.get(f"/api/v1/{things}/{record['id']}", headers=world.actor)
        assert answer.status_code == v1.status_code == (200 if record["id"] in readable else 404)
        if answer.status_code == 404:
            assert answer.json()["error"]["code"] == "0x80040217"


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("things", OWNED_THINGS)
def test_changes_are_refused_where_v1_refuses_them(world: World, role: str, things: str) -> None:
    place_all(world, things)
    description = {"description": "changed through Dataverse"}
    for position, record in world.placed[things]:
        before = world.snapshot(things, [record["id"]])
        answer = world.client.patch(
            f"{API}/{things}({record['id']})", json=description, headers=world.actor
        )
        may = allowed(world.role, TABLE_OF[things], "write", POSITIONS[position])
        may_read = allowed(world.role, TABLE_OF[things], "read", POSITIONS[position])
        expected = 204 if may else (403 if may_read else 404)
        assert answer.status_code == expected, (position, answer.text)
        if not may:
            assert world.snapshot(things, [record["id"]]) == before
            assert set(answer.json()["error"]) >= {"code", "message"}
