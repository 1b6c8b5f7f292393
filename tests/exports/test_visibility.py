"""Each built-in role exports exactly the rows the privilege matrix says it reads, on SQLite and
PostgreSQL: the administrator places records in every position around the actor; the
expectation comes from :mod:`tests.security.expectations`, never from the product's scope code.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from oppflow.security.privileges import BUILTIN_ROLES
from tests.security.expectations import POSITIONS, allowed
from tests.security.test_visibility import place_all, readable_ids
from tests.security.world import OWNED_THINGS, World

ROLES = tuple(BUILTIN_ROLES)


def exported_ids(world: World, table: str, column: str = "id", **params: str) -> list[str]:
    answer = world.client.get(f"/api/v1/exports/{table}", params=params, headers=world.actor)
    assert answer.status_code == 200, answer.text
    if params.get("format") == "jsonl":
        return [json.loads(line)[column] for line in answer.text.splitlines()]
    return [row[column] for row in csv.DictReader(io.StringIO(answer.text))]


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("things", OWNED_THINGS)
def test_each_role_exports_exactly_the_readable_rows(world: World, role: str, things: str) -> None:
    place_all(world, things)
    readable = readable_ids(world, things)
    assert readable, "the scene gives every role something to read"
    for fmt in ("csv", "jsonl"):
        exported = exported_ids(world, things, format=fmt)
        assert len(exported) == len(set(exported)), "a row exported twice"
        assert set(exported) & {r["id"] for _, r in world.placed[things]} == readable, fmt
    owner = str(world.users["colleague"])
    mine = exported_ids(world, things, owner_id=owner)
    assert set(mine) == readable_ids(world, things, owner="colleague")


@pytest.mark.parametrize("role", ROLES, scope="module")
def test_stage_history_is_that_of_the_readable_opportunities(world: World, role: str) -> None:
    place_all(world, "opportunities")
    expected = {
        record["id"]
        for position, record in world.placed["opportunities"]
        if allowed(role, "opportunity", "read", POSITIONS[position])
    }
    placed = {record["id"] for _, record in world.placed["opportunities"]}
    history = exported_ids(world, "stage-history", "opportunity_id")
    assert set(history) & placed == expected
