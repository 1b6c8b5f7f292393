"""A property: whatever sequence of API calls a salesperson makes (get, patch, delete, stage
moves, assign, share, list) on records they may or may not reach, they never read or change a
record outside their depth.

Before every call the oracle reads the database (owners, owning units, shares, sales teams) and
decides with :mod:`tests.security.expectations` what the call may do; after it, the database
snapshot and the administrator's view show that nothing else changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import Base, RecordShare, SalesTeamMember
from tests.security.expectations import SALES_TEAM_ACTIONS, Position, allowed
from tests.security.world import OWNED_THINGS, TABLE_OF, World, positions_of

pytestmark = pytest.mark.parametrize("role", ["salesperson"], scope="module")

MISSING = "00000000-0000-4000-8000-000000000000"
KINDS = ("get", "patch", "delete", "move", "assign", "share", "list")
ACTION_OF = {"get": "read", "patch": "write", "move": "write", "delete": "delete"}
MOVES = ("next", "previous", "abandon", "reactivate")
SHAREABLE = ("read", "write", "delete", "assign", "share")
PEOPLE = ("actor", "colleague", "child", "easterner", "rooter")


@dataclass(frozen=True)
class Row:
    version: int
    owner: str
    unit: str


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, Row]
    shares: frozenset[tuple[str, str, str]]  # record id, principal id, action
    sales_team: frozenset[tuple[str, str]]  # opportunity id, user id


def snapshot(world: World, things: str) -> Snapshot:
    table = Base.metadata.tables[things]
    query = select(table.c.id, table.c.version, table.c.owner_id, table.c.owning_business_unit_id)
    with unit_of_work(world.factory) as session:
        rows = {
            str(i): Row(version, str(owner), str(unit))
            for i, version, owner, unit in session.execute(query)
        }
        shares = frozenset(
            (str(s.record_id), str(s.principal_id), s.action)
            for s in session.scalars(
                select(RecordShare).where(RecordShare.table_name == TABLE_OF[things])
            )
        )
        team = frozenset(
            (str(m.opportunity_id), str(m.user_id))
            for m in session.scalars(select(SalesTeamMember))
        )
    return Snapshot(rows, shares, team)


def position(world: World, things: str, state: Snapshot, record_id: str) -> Position:
    """Where a record sits relative to the actor, read from the database."""
    row = state.rows[record_id]
    units = {str(world.units["West"]): "same", str(world.units["West-Child"]): "below"}
    me = {str(world.users["actor"]), str(world.team_id)}
    granted = {action for rid, who, action in state.shares if rid == record_id and who in me}
    if things == "opportunities" and (record_id, str(world.users["actor"])) in state.sales_team:
        granted |= SALES_TEAM_ACTIONS
    return Position(
        mine=row.owner == str(world.users["actor"]),
        unit=units.get(row.unit, "elsewhere"),  # type: ignore[arg-type]
        granted=frozenset(granted),
    )


def may(world: World, things: str, state: Snapshot, record_id: str, action: str) -> bool:
    if record_id not in state.rows:
        return False
    return allowed(world.role, TABLE_OF[things], action, position(world, things, state, record_id))


def top_up(world: World) -> None:
    """Keep records in every position: the salesperson deletes and gives away their own."""
    for things in OWNED_THINGS:
        if things not in world.placed:
            for place in positions_of(TABLE_OF[things]):
                for _ in range(2):
                    world.place(things, place, world.unique(place))
        state = snapshot(world, things)
        mine = [r for r in state.rows.values() if r.owner == str(world.users["actor"])]
        for _ in range(2 - len(mine)):
            world.place(things, "own", world.unique("own"))


Call = tuple[int, int, str, int, int]
calls = st.tuples(
    st.integers(0, len(OWNED_THINGS) - 1),
    st.integers(0, 10_000),
    st.sampled_from(KINDS),
    st.integers(0, 10_000),
    st.integers(0, 31),
)


def request(world: World, things: str, record_id: str, kind: str, pick: int, subset: int) -> Any:
    """One call of the salesperson; returns (answer, the action it needs, shared actions)."""
    client, actor = world.client, world.actor
    base = f"/api/v1/{things}/{record_id}"
    if kind == "get":
        return client.get(base, headers=actor), "read", []
    if kind == "patch":
        return client.patch(base, json={"description": f"p{pick}"}, headers=actor), "write", []
    if kind == "delete":
        return client.delete(base, headers=actor), "delete", []
    if kind == "move":
        if things != "opportunities":
            return client.get(base, headers=actor), "read", []
        move = MOVES[pick % len(MOVES)]
        return client.post(f"{base}/process/{move}", headers=actor), "write", []
    if kind == "assign":
        owner = str(world.users[PEOPLE[pick % len(PEOPLE)]])
        return client.post(f"{base}/assign", json={"owner_id": owner}, headers=actor), "assign", []
    actions = [a for i, a in enumerate(SHAREABLE) if subset & (1 << i)] or ["read"]
    body = {
        "principal_type": "user",
        "principal_id": str(world.users[PEOPLE[pick % len(PEOPLE)]]),
        "actions": actions,
    }
    return client.post(f"{base}/shares", json=body, headers=actor), "share", actions


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(calls, min_size=1, max_size=8))
def test_a_salesperson_never_reaches_beyond_their_depth(world: World, sequence: list[Call]) -> None:
    top_up(world)
    for table_index, record_index, kind, pick, subset in sequence:
        things = OWNED_THINGS[table_index]
        before = snapshot(world, things)
        readable = {i for i in before.rows if may(world, things, before, i, "read")}
        if kind == "list":
            answer = world.client.get(
                f"/api/v1/{things}", params={"limit": "200"}, headers=world.actor
            )
            assert answer.status_code == 200, answer.text
            listed = [item["id"] for item in answer.json()["items"]]
            assert set(listed) <= readable, set(listed) - readable
            assert set(listed) == readable
            continue
        ids = sorted(before.rows)
        record_id = MISSING if record_index % 8 == 0 else ids[record_index % len(ids)]
        answer, action, shared = request(world, things, record_id, kind, pick, subset)
        status = answer.status_code
        after = snapshot(world, things)
        where = f"{kind} {things} {record_id}: {status} {answer.text[:200]}"
        event(f"{kind} -> {status}")

        if record_id not in readable:
            assert status == 404, where
        elif not all(may(world, things, before, record_id, a) for a in [action, *shared]):
            assert status == 403, where
        else:
            assert status not in (401, 403, 404), where
            assert status < 500, where
        if status == 200 and kind == "get":
            assert answer.json()["version"] == before.rows[record_id].version

        # Nothing changed but the target, and the target only when the call was allowed.
        changed = {
            i
            for i in before.rows.keys() | after.rows.keys()
            if before.rows.get(i) != after.rows.get(i)
        }
        new_shares = after.shares ^ before.shares
        if not 200 <= status < 300:
            assert changed == set(), where
            assert not new_shares, where
        else:
            assert changed <= {record_id}, where
            assert {share[0] for share in new_shares} <= {record_id}, where
        if record_id in before.rows and record_id not in readable:
            view = world.admin_view(things, record_id)
            assert view is not None, where
            assert view["version"] == before.rows[record_id].version, where
