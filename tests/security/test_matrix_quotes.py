"""The privilege matrix for quotes and opportunity lines, through HTTP: a quote follows its
opportunity, so the ``quote`` privilege's depth is measured against the opportunity's position
(owner, unit, shares, sales team). Every built-in role × action × position answers as
:mod:`tests.security.expectations` says, from ``BUILTIN_ROLES`` alone; refused requests change
nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from oppflow.security.privileges import BUILTIN_ROLES
from tests.security.expectations import ALLOWED, POSITIONS, Outcome, allowed, outcome
from tests.security.test_matrix import Cells
from tests.security.world import World, positions_of

ROLES = tuple(BUILTIN_ROLES)


def create_outcome(role: str, position: str) -> Outcome:
    """Creating a quote on an opportunity: 404 when the opportunity cannot be read, else as
    the quote create depth reaches the opportunity."""
    where = POSITIONS[position]
    if not allowed(role, "opportunity", "read", where):
        return 404
    return ALLOWED if allowed(role, "quote", "create", where) else 403


def quotes_of(world: World, opportunity: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Two drafts on the opportunity, made by the administrator."""
    path = f"/api/v1/opportunities/{opportunity['id']}/quotes"
    made = [world.client.post(path, json={}, headers=world.admin) for _ in range(2)]
    assert all(answer.status_code == 201 for answer in made), [a.text for a in made]
    return tuple(answer.json() for answer in made)


@pytest.mark.parametrize("role", ROLES, scope="module")
def test_quotes_follow_their_opportunity(world: World, role: str) -> None:
    client, actor = world.client, world.actor
    cells = Cells(role, "quote")
    placed: dict[str, tuple[dict[str, Any], ...]] = {}
    for position in positions_of("opportunity"):
        opportunity = world.place("opportunities", position, world.unique(f"{position} quoted"))
        edited, activated = placed[position] = quotes_of(world, opportunity)

        def expect(action: str, where: str = position) -> Outcome:
            return outcome(role, "quote", action, POSITIONS[where])

        quote = f"/api/v1/quotes/{edited['id']}"
        cells.check("read", position, expect("read"), client.get(quote, headers=actor))
        answer = client.get(f"{quote}/lines", headers=actor)
        cells.check("read", f"{position}, lines", expect("read"), answer)
        answer = client.patch(quote, json={"terms": "Net 30"}, headers=actor)
        cells.check("write", position, expect("write"), answer)
        answer = client.post(f"/api/v1/quotes/{activated['id']}/activate", headers=actor)
        cells.check("write", f"{position}, activate", expect("write"), answer)
        answer = client.post(
            f"/api/v1/opportunities/{opportunity['id']}/quotes", json={}, headers=actor
        )
        cells.check("create", position, create_outcome(role, position), answer)

        lines = f"/api/v1/opportunities/{opportunity['id']}/lines"
        where = POSITIONS[position]
        answer = client.get(lines, headers=actor)
        cells.check(
            "read",
            f"{position}, opportunity lines",
            outcome(role, "opportunity", "read", where),
            answer,
        )
        body = {"write_in_name": "Service", "quantity": 1, "price_per_unit": 100}
        answer = client.post(lines, json=body, headers=actor)
        cells.check(
            "write", f"{position}, add a line", outcome(role, "opportunity", "write", where), answer
        )
    cells.assert_none()

    listed = {
        q["id"] for q in client.get("/api/v1/quotes?limit=200", headers=actor).json()["items"]
    }
    for position, made in placed.items():
        readable = outcome(role, "quote", "read", POSITIONS[position]) == ALLOWED
        assert all((q["id"] in listed) == readable for q in made), position
        wrote = outcome(role, "quote", "write", POSITIONS[position]) == ALLOWED
        now = client.get(f"/api/v1/quotes/{made[0]['id']}", headers=world.admin).json()
        assert (now["terms"] == "Net 30") == wrote, position
