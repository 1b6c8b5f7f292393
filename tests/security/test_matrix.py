"""The privilege matrix through HTTP, generated from ``BUILTIN_ROLES``: every built-in role ×
table × action (where an endpoint exists) × record position, each answer as the table says:
outside the read depth 404, readable without the privilege 403, else 2xx.

Changing the privilege table changes the expectations; nothing here names a role's rights.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from httpx import Response

from oppflow.security.privileges import BUILTIN_ROLES
from tests.security.expectations import (
    POSITIONS,
    Outcome,
    create_outcome,
    matches,
    outcome,
    table_outcome,
)
from tests.security.world import (
    API_PATHS,
    OWNED_THINGS,
    OWNER_OF,
    TABLE_OF,
    World,
    api_path,
    positions_of,
)

ROLES = tuple(BUILTIN_ROLES)
# Positions a new record can be created in: its owner's (shares come after creation).
CREATABLE = ("own", "same_unit", "child_unit", "parent_unit", "other_branch")
# Opportunity endpoints beyond PATCH that need write on the record.
OPPORTUNITY_WRITES = ("process/abandon", "process/reactivate", "win", "reopen")


class Cells:
    """The matrix's verdicts; every mismatch is kept so one failure lists them all."""

    def __init__(self, role: str, table: str) -> None:
        self.role, self.table = role, table
        self.failures: list[str] = []
        self.checked = 0

    def check(self, action: str, where: str, expected: Outcome, answer: Response) -> bool:
        """Whether the answer is the expected one (recording it when not); True when the
        request was allowed."""
        self.checked += 1
        if not matches(expected, answer.status_code):
            self.failures.append(
                f"{self.role} {action} {self.table} [{where}]: expected {expected}, got "
                f"{answer.status_code} {answer.text[:160]}"
            )
        return 200 <= answer.status_code < 300

    def assert_none(self) -> None:
        assert not self.failures, "\n".join(self.failures)


def fill_id(path: str, record: dict[str, Any]) -> str:
    """A templated API path with the record's id in it."""
    return re.sub(r"\{[a-z_]+\}", record["id"], path)


def related_reads(things: str) -> list[str]:
    """Every ``GET /{things}/{id}/...`` of the API (shares, notes, history, …): each needs read
    on the record, so it must answer like ``GET /{things}/{id}``."""
    pattern = re.compile(rf"^/api/v1/{things}/\{{[a-z_]+\}}/[a-z/-]+$")
    return sorted(p for p, methods in API_PATHS.items() if pattern.match(p) and "get" in methods)


def url(things: str, record: dict[str, Any], suffix: str = "") -> str:
    return f"/api/v1/{things}/{record['id']}" + (f"/{suffix}" if suffix else "")


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("things", OWNED_THINGS)
def test_owned_table(world: World, role: str, things: str) -> None:
    """Every action on records in every position, for one role and one owned table."""
    table, client, actor = TABLE_OF[things], world.client, world.actor
    cells = Cells(role, table)
    positions = positions_of(table)
    records = {
        (position, purpose): world.place(things, position, world.unique(f"{position} {purpose}"))
        for position in positions
        for purpose in ("main", "assign", "delete")
    }
    notes = api_path(things, "notes")
    sales_team = api_path(things, "sales-team")
    reads = related_reads(things)
    effects: dict[str, dict[str, bool]] = {}

    for position in CREATABLE:
        body = world.minimal_body(things, world.unique("created")) | {
            "owner_id": str(world.users[OWNER_OF[position]])
        }
        answer = client.post(f"/api/v1/{things}", json=body, headers=actor)
        cells.check("create", position, create_outcome(role, table, POSITIONS[position]), answer)

    for position in positions:
        main = records[position, "main"]

        def expect(action: str, where: str = position) -> Outcome:
            return outcome(role, table, action, POSITIONS[where])

        cells.check("read", position, expect("read"), client.get(url(things, main), headers=actor))
        for path in reads:
            answer = client.get(fill_id(path, main), headers=actor)
            cells.check("read", f"{position}, GET {path}", expect("read"), answer)

        patch = {"description": f"changed by the {role}"}
        answer = client.patch(url(things, main), json=patch, headers=actor)
        wrote = cells.check("write", position, expect("write"), answer)
        if table == "opportunity":
            for suffix in OPPORTUNITY_WRITES:
                answer = client.post(url(things, main, suffix), json={}, headers=actor)
                wrote |= cells.check("write", f"{position}, POST {suffix}", expect("write"), answer)

        share = {
            "principal_type": "user",
            "principal_id": str(world.users["bystander"]),
            "actions": ["read"],
        }
        answer = client.post(url(things, main, "shares"), json=share, headers=actor)
        cells.check("share", position, expect("share"), answer)
        if sales_team is not None:
            # A place on the sales team grants read and write: giving one is sharing.
            member = {"user_id": str(world.users["bystander"]), "role": "sales_team_member"}
            answer = client.post(fill_id(sales_team, main), json=member, headers=actor)
            cells.check("share", f"{position}, POST sales-team", expect("share"), answer)

        if notes is not None:
            answer = client.post(fill_id(notes, main), json={"text": "a note"}, headers=actor)
            cells.check("append", f"{position}, POST notes", expect("append"), answer)

        granted = client.get(url(things, main, "shares"), headers=world.admin).json()["items"]
        if granted:
            withdraw = url(things, main, f"shares/{granted[0]['id']}")
            answer = client.delete(withdraw, headers=actor)
            cells.check("share", f"{position}, DELETE shares/{{id}}", expect("share"), answer)

        target = {"owner_id": str(world.users["bystander"])}
        assign = records[position, "assign"]
        answer = client.post(url(things, assign, "assign"), json=target, headers=actor)
        assigned = cells.check("assign", position, expect("assign"), answer)

        doomed = records[position, "delete"]
        deleted = cells.check(
            "delete", position, expect("delete"), client.delete(url(things, doomed), headers=actor)
        )

        effects[position] = {"wrote": wrote, "assigned": assigned, "deleted": deleted}

    cells.assert_none()
    assert cells.checked >= len(positions) * 5

    # The database afterwards: refused requests changed nothing, allowed ones took effect.
    rows = world.snapshot(things, [record["id"] for record in records.values()])
    for position, did in effects.items():
        main, assign, doomed = (records[position, p] for p in ("main", "assign", "delete"))
        assert (rows[main["id"]][0] != main["version"]) == did["wrote"], (position, main)
        owner = str(world.users["bystander"]) if did["assigned"] else assign["owner_id"]
        assert rows[assign["id"]] == (
            assign["version"] + did["assigned"],
            owner,
        ), position
        assert (doomed["id"] not in rows) == did["deleted"], position


# Tables without owners: (action, method, path, body) for each endpoint, ``{x}`` filled from the
# scene the administrator sets up first.
ORGANISATION_CALLS: dict[str, list[tuple[str, str, str, dict[str, Any] | None]]] = {
    "competitor": [
        ("create", "POST", "/competitors", {"name": "{unique}"}),
        ("read", "GET", "/competitors", None),
        ("read", "GET", "/competitors/{competitor}", None),
        ("write", "PATCH", "/competitors/{competitor}", {"strengths": "{unique}"}),
        ("delete", "DELETE", "/competitors/{doomed_competitor}", None),
    ],
    "process": [
        ("read", "GET", "/processes", None),
        ("read", "GET", "/processes/opportunity-sales-process", None),
        ("read", "GET", "/processes/opportunity-sales-process/yaml", None),
        ("create", "POST", "/processes", {"yaml": "{process_yaml}"}),
        ("write", "PATCH", "/processes/opportunity-sales-process", {"display_order": 0}),
    ],
    "user": [
        ("read", "GET", "/users", None),
        ("read", "GET", "/users/{bystander}", None),
        ("create", "POST", "/users", {"username": "{unique}", "full_name": "New User"}),
        ("write", "PATCH", "/users/{bystander}", {"full_name": "{unique}"}),
    ],
    "role": [
        ("read", "GET", "/roles", None),
        ("read", "GET", "/roles/salesperson", None),
        ("create", "POST", "/roles", {"key": "{unique}", "name": "Custom", "privileges": {}}),
        ("write", "PATCH", "/roles/{custom_role}", {"name": "{unique}"}),
    ],
    "business_unit": [
        ("read", "GET", "/business-units", None),
        ("read", "GET", "/business-units/{west}", None),
        ("create", "POST", "/business-units", {"name": "{unique}", "parent_id": "{east}"}),
        ("write", "PATCH", "/business-units/{spare_unit}", {"name": "{unique}"}),
    ],
    "team": [
        ("read", "GET", "/teams", None),
        ("read", "GET", "/teams/{team}", None),
        ("create", "POST", "/teams", {"name": "{unique}", "business_unit_id": "{east}"}),
        ("write", "PATCH", "/teams/{spare_team}", {"name": "{unique}"}),
    ],
    "audit": [("read", "GET", "/audit", None)],
    "product": [
        ("read", "GET", "/unit-groups", None),
        ("read", "GET", "/units", None),
        ("read", "GET", "/units/{uom}", None),
        ("read", "GET", "/products", None),
        ("read", "GET", "/products/{product}", None),
        ("create", "POST", "/unit-groups", {"name": "{unique}"}),
        ("create", "POST", "/units", {"group_id": "{group}", "name": "{unique}", "quantity": 6}),
        ("create", "POST", "/product-families", {"name": "{unique}"}),
        (
            "create",
            "POST",
            "/products",
            {
                "name": "{unique}",
                "product_number": "{unique}",
                "unit_group_id": "{group}",
                "default_unit_id": "{uom}",
            },
        ),
        ("write", "PATCH", "/products/{product}", {"description": "{unique}"}),
        ("write", "PATCH", "/units/{box}", {"name": "{unique}"}),
    ],
    "price_list": [
        ("read", "GET", "/price-lists", None),
        ("read", "GET", "/price-lists/{price_list}", None),
        ("read", "GET", "/price-lists/{price_list}/items", None),
        ("create", "POST", "/price-lists", {"name": "{unique}", "currency": "EUR"}),
        ("write", "PATCH", "/price-lists/{price_list}", {"description": "{unique}"}),
        (
            "write",
            "POST",
            "/price-lists/{price_list}/items",
            {"product_id": "{product}", "amount": 5},
        ),
        ("write", "DELETE", "/price-lists/{price_list}/items/{doomed_item}", None),
    ],
}


def scene(world: World, table: str) -> dict[str, str]:
    """What the calls of ``table`` refer to, made by the administrator."""
    client, admin = world.client, world.admin

    def made(path: str, body: dict[str, Any], key: str = "id") -> str:
        answer = client.post(f"/api/v1{path}", json=body, headers=admin)
        assert answer.status_code == 201, answer.text
        return str(answer.json()[key])

    values = {
        "bystander": str(world.users["bystander"]),
        "west": str(world.units["West"]),
        "east": str(world.units["East"]),
        "team": str(world.team_id),
    }
    if table == "competitor":
        values["competitor"] = made("/competitors", {"name": world.unique("rival")})
        values["doomed_competitor"] = made("/competitors", {"name": world.unique("rival")})
    elif table == "process":
        answer = client.get("/api/v1/processes/opportunity-sales-process/yaml", headers=admin)
        values["process_yaml"] = answer.text
    elif table == "role":
        values["custom_role"] = made(
            "/roles", {"key": world.unique("custom"), "name": "Custom"}, key="key"
        )
    elif table == "business_unit":
        body = {"name": world.unique("spare"), "parent_id": values["east"]}
        values["spare_unit"] = made("/business-units", body)
    elif table == "team":
        values["spare_team"] = made("/teams", {"name": world.unique("spare")})
    elif table in ("product", "price_list"):
        values |= catalogue_scene(world, made)
    return values


def catalogue_scene(world: World, made: Any) -> dict[str, str]:
    """A unit group (its base unit and a box), a product, a price list and an item to delete."""
    group = made("/unit-groups", {"name": world.unique("group")})
    units = world.client.get(f"/api/v1/units?group_id={group}", headers=world.admin)
    uom = units.json()["items"][0]["id"]
    box = made("/units", {"group_id": group, "name": "Box", "quantity": 10})
    number = world.unique("P")
    product = {"name": number, "product_number": number, "unit_group_id": group}
    product_id = made("/products", product | {"default_unit_id": uom})
    price_list = made("/price-lists", {"name": world.unique("list"), "currency": "EUR"})
    item = {"product_id": product_id, "unit_id": box, "amount": 50}
    doomed = made(f"/price-lists/{price_list}/items", item)
    return {
        "group": group,
        "uom": uom,
        "box": box,
        "product": product_id,
        "price_list": price_list,
        "doomed_item": doomed,
    }


def fill(template: Any, values: dict[str, str], world: World) -> Any:
    if isinstance(template, dict):
        return {key: fill(value, values, world) for key, value in template.items()}
    if isinstance(template, str) and "{" in template:
        if template == "{unique}":
            return world.unique("x")
        return template.format(**values)
    return template


@pytest.mark.parametrize("role", ROLES, scope="module")
@pytest.mark.parametrize("table", list(ORGANISATION_CALLS))
def test_organisation_table(world: World, role: str, table: str) -> None:
    """Competitors, processes, users, roles, business units, teams and the audit log: each
    endpoint allowed or 403 as the role's table says."""
    values = scene(world, table)
    cells = Cells(role, table)
    for action, method, path, body in ORGANISATION_CALLS[table]:
        answer = world.client.request(
            method,
            "/api/v1" + path.format(**values),
            json=fill(body, values, world),
            headers=world.actor,
        )
        cells.check(action, f"{method} {path}", table_outcome(role, table, action), answer)
    cells.assert_none()
