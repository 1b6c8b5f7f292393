"""Creates, deletes, the actions and the stage gates through the Dataverse API, under the security
matrix's world, for the built-in sales roles and the system administrator: each answer is the one
``/api/v1`` gives the same user for the same request on a twin record (placed alike), each is
what the matrix's privilege table expects, and each refusal leaves the record as it was.

The records of this module are its own (a world of its own per database and role), so what it
creates and deletes never changes what ``test_security.py`` lists."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Response
from sqlalchemy import func, select

from oppflow.dataverse.entities import ENTITY_SETS
from oppflow.db import unit_of_work
from oppflow.models import Base
from tests.security.expectations import ALLOWED, POSITIONS, Outcome, create_outcome, outcome
from tests.security.world import OWNED_THINGS, OWNER_OF, TABLE_OF, World, positions_of

API = "/api/data/v9.2"
ROLES = ("salesperson", "sales-manager", "system-administrator")
# Positions a new record can be created in: its owner's (shares come after creation).
CREATABLE = ("own", "same_unit", "child_unit", "parent_unit", "other_branch")


def same_answer(odata: Response, v1: Response, expected: Outcome | int | None, where: str) -> None:
    """Both faces allowed, or both refused with the same status (the expected one, when the
    matrix says), the Dataverse refusal in the OData error shape."""
    assert odata.is_success == v1.is_success, (where, odata.text, v1.text)
    if not odata.is_success:
        assert odata.status_code == v1.status_code, (where, odata.text, v1.text)
        assert set(odata.json()["error"]) >= {"code", "message"}, where
    if expected == ALLOWED:
        assert odata.is_success, (where, odata.text)
    elif expected is not None:
        assert odata.status_code == expected, (where, expected, odata.text)


def logical_body(things: str, body: dict[str, Any]) -> dict[str, Any]:
    """An ``/api/v1`` body in Dataverse's logical names."""
    names = {column.attribute: column.name for column in ENTITY_SETS[things].columns}
    return {names[field]: value for field, value in body.items()}


def rows_named(world: World, things: str, value: str) -> int:
    """How many rows of the table carry ``value`` in the column of the API's first required
    field (name, last name or topic)."""
    field = next(iter(world.minimal_body(things, "x")))
    table = Base.metadata.tables[things]
    with unit_of_work(world.factory) as session:
        return int(session.scalar(select(func.count()).where(table.c[field] == value)) or 0)


def twins(world: World, things: str, position: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two records placed alike: one for the Dataverse API, one for ``/api/v1``."""
    made = [world.place(things, position, world.unique(f"{position} twin")) for _ in range(2)]
    return made[0], made[1]


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("things", OWNED_THINGS)
def test_create_for_each_owner_as_v1(world: World, role: str, things: str) -> None:
    """POST with ``ownerid@odata.bind`` to each position's owner: allowed or 403 as ``/api/v1``
    and as the matrix says; a refused create leaves nothing behind."""
    for position in CREATABLE:
        owner = str(world.users[OWNER_OF[position]])
        body = world.minimal_body(things, world.unique(f"created {position}"))
        odata_body = logical_body(things, body) | {"ownerid@odata.bind": f"/systemusers({owner})"}
        odata = world.client.post(
            f"{API}/{things}",
            json=odata_body,
            headers={**world.actor, "Prefer": "return=representation"},
        )
        v1_body = world.minimal_body(things, world.unique(f"created {position}"))
        v1 = world.client.post(
            f"/api/v1/{things}", json=v1_body | {"owner_id": owner}, headers=world.actor
        )
        expected = create_outcome(role, TABLE_OF[things], POSITIONS[position])
        same_answer(odata, v1, expected, position)
        name = next(iter(body.values()))
        if odata.is_success:
            key = odata.json()[ENTITY_SETS[things].key]
            through_v1 = world.admin_view(things, key)
            assert through_v1 is not None, position
            assert through_v1["owner_id"] == owner, position
        else:
            assert rows_named(world, things, name) == 0, position


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("things", OWNED_THINGS)
def test_delete_as_v1(world: World, role: str, things: str) -> None:
    for position in positions_of(TABLE_OF[things]):
        mine, theirs = twins(world, things, position)
        odata = world.client.delete(f"{API}/{things}({mine['id']})", headers=world.actor)
        v1 = world.client.delete(f"/api/v1/{things}/{theirs['id']}", headers=world.actor)
        expected = outcome(role, TABLE_OF[things], "delete", POSITIONS[position])
        same_answer(odata, v1, expected, position)
        left = world.snapshot(things, [mine["id"]])
        if odata.is_success:
            assert left == {}, position
            assert world.admin_view(things, mine["id"]) is None
        else:
            assert left == {mine["id"]: (mine["version"], mine["owner_id"])}, position


def close_state(world: World, record: dict[str, Any]) -> tuple[str, str, Any]:
    view = world.admin_view("opportunities", record["id"])
    assert view is not None
    return view["state"], view["status_reason"], view["actual_value"]


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("action", ["WinOpportunity", "LoseOpportunity"])
def test_win_and_lose_as_v1(world: World, role: str, action: str) -> None:
    """The actions need write on the opportunity, as ``/api/v1``'s win and lose: 404 outside
    the read scope, 403 where readable only; a refused close leaves it open, with no close
    record; an allowed one is the same close as ``/api/v1``'s."""
    won = action == "WinOpportunity"
    for position in positions_of("opportunity"):
        mine, theirs = twins(world, "opportunities", position)
        close: dict[str, Any] = {
            "opportunityid@odata.bind": f"/opportunities({mine['id']})",
            "description": "through Dataverse",
        }
        if won:
            close["actualrevenue"] = 1000
        body = {"OpportunityClose": close, "Status": 3 if won else 4}
        odata = world.client.post(f"{API}/{action}", json=body, headers=world.actor)
        v1_body: dict[str, Any] = {"description": "through v1"}
        v1_body |= {"actual_revenue": 1000} if won else {"status_reason": "canceled"}
        v1 = world.client.post(
            f"/api/v1/opportunities/{theirs['id']}/{'win' if won else 'lose'}",
            json=v1_body,
            headers=world.actor,
        )
        expected = outcome(role, "opportunity", "write", POSITIONS[position])
        same_answer(odata, v1, expected, position)
        closes = world.client.get(
            f"/api/v1/opportunities/{mine['id']}/closes", headers=world.admin
        ).json()
        if odata.is_success:
            assert close_state(world, mine) == close_state(world, theirs), position
            assert close_state(world, mine)[0] == ("won" if won else "lost")
            assert [c["description"] for c in closes] == ["through Dataverse"]
        else:
            assert world.snapshot("opportunities", [mine["id"]]) == {
                mine["id"]: (mine["version"], mine["owner_id"])
            }, position
            assert close_state(world, mine)[0] == "open"
            assert closes == []


@pytest.mark.parametrize("role", ROLES, scope="module")
def test_qualify_lead_as_v1(world: World, role: str) -> None:
    """QualifyLead answers as ``/api/v1``'s qualify (404 outside the read scope); a refused one
    leaves the lead open and creates no opportunity."""
    body = {"CreateAccount": False, "CreateContact": False, "CreateOpportunity": True, "Status": 3}
    v1_body = {"create_account": False, "create_contact": False, "create_opportunity": True}
    for position in positions_of("lead"):
        mine, theirs = twins(world, "leads", position)
        odata = world.client.post(
            f"{API}/leads({mine['id']})/Microsoft.Dynamics.CRM.QualifyLead",
            json=body,
            headers=world.actor,
        )
        v1 = world.client.post(
            f"/api/v1/leads/{theirs['id']}/qualify", json=v1_body, headers=world.actor
        )
        readable = outcome(role, "lead", "read", POSITIONS[position]) != 404
        same_answer(odata, v1, None if readable else 404, position)
        lead = world.admin_view("leads", mine["id"])
        assert lead is not None
        if odata.is_success:
            assert lead["state"] == "qualified"
            made = {row["@odata.type"]: row for row in odata.json()["value"]}
            opportunity = made["#Microsoft.Dynamics.CRM.opportunity"]["opportunityid"]
            assert world.admin_view("opportunities", opportunity) is not None
            assert lead["qualified_opportunity_id"] == opportunity
        else:
            assert lead["state"] == "open", position
            assert world.snapshot("leads", [mine["id"]]) == {
                mine["id"]: (mine["version"], mine["owner_id"])
            }, position


def instance_and_stages(world: World, opportunity_id: str) -> tuple[str, dict[str, str]]:
    """The opportunity's process instance and its stage ids by name, as the administrator
    reads them through the Dataverse API."""
    query = {"$filter": f"_bpf_opportunityid_value eq {opportunity_id}"}
    rows = world.client.get(
        f"{API}/opportunitysalesprocesses", params=query, headers=world.admin
    ).json()["value"]
    assert len(rows) == 1, rows
    stages_query = {"$filter": f"_processid_value eq '{rows[0]['_processid_value']}'"}
    stages = world.client.get(
        f"{API}/processstages", params=stages_query, headers=world.admin
    ).json()["value"]
    named = {row["stagename"]: row["processstageid"] for row in stages}
    return rows[0]["businessprocessflowinstanceid"], named


def process_of(world: World, opportunity_id: str) -> tuple[str, list[str], tuple[int, str]]:
    """The active stage and path as the administrator reads them through ``/api/v1``, and the
    opportunity's (version, owner)."""
    view = world.client.get(
        f"/api/v1/opportunities/{opportunity_id}/process", headers=world.admin
    ).json()
    version = world.snapshot("opportunities", [opportunity_id])[opportunity_id]
    return view["active_stage"]["key"], view["traversed_path"], version


def move(world: World, instance: str, stage_id: str) -> Response:
    answer: Response = world.client.patch(
        f"{API}/opportunitysalesprocesses({instance})",
        json={"activestageid@odata.bind": f"/processstages({stage_id})"},
        headers=world.actor,
    )
    return answer


@pytest.mark.parametrize("role", ROLES, scope="module")
def test_stage_gates_in_the_world(world: World, role: str) -> None:
    """For each position: a move forward with the Qualify steps empty is refused as
    ``/api/v1``'s ``process/next`` refuses it (the same status, the same missing steps; 404
    outside the read scope, 403 where readable only) and changes nothing. Where the actor
    may write, once the administrator has filled the steps: a jump to Close is refused and
    changes nothing, the move to Develop and the move back to Qualify are made."""
    account = world.create("accounts", "admin", world.unique("gate account"))
    contact = world.create("contacts", "admin", world.unique("gate contact"))
    for position in positions_of("opportunity"):
        record = world.place("opportunities", position, world.unique(f"{position} gated"))
        key = record["id"]
        instance, stages = instance_and_stages(world, key)
        before = process_of(world, key)
        assert before[:2] == ("qualify", ["qualify"])

        odata = move(world, instance, stages["Develop"])
        v1 = world.client.post(f"/api/v1/opportunities/{key}/process/next", headers=world.actor)
        expected = outcome(role, "opportunity", "write", POSITIONS[position])
        refused: Outcome | int = 409 if expected == ALLOWED else expected
        same_answer(odata, v1, refused, position)
        if odata.status_code == 409:
            missing = odata.json()["error"]["innererror"]["missing_steps"]
            assert missing == v1.json()["missing_steps"]
            assert {step["label"] for step in missing} == {"Identify Contact", "Identify Account"}
        assert process_of(world, key) == before, position
        if expected != ALLOWED:
            continue

        fill = {"account_id": account["id"], "contact_id": contact["id"]}
        filled = world.client.patch(f"/api/v1/opportunities/{key}", json=fill, headers=world.admin)
        assert filled.status_code == 200, filled.text
        ready = process_of(world, key)
        jump = move(world, instance, stages["Close"])
        assert jump.status_code == 400, (position, jump.text)
        assert set(jump.json()["error"]) >= {"code", "message"}
        assert process_of(world, key) == ready, position

        forward = move(world, instance, stages["Develop"])
        assert forward.status_code == 204, (position, forward.text)
        assert process_of(world, key)[:2] == ("develop", ["qualify", "develop"])
        back = move(world, instance, stages["Qualify"])
        assert back.status_code == 204, (position, back.text)
        assert process_of(world, key)[0] == "qualify"
        through = world.client.get(
            f"{API}/opportunities({key})?$select=stepname", headers=world.actor
        ).json()
        assert through["stepname"] == "1-Qualify"
