"""Stakeholders, sales team and competitors of an opportunity through HTTP: add, list, change the
role, remove; and every bad input refused with a clear 4xx that changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create, create_opportunity, signed_in, user_in_unit

STAKEHOLDER_ROLES = (
    "stakeholder",
    "champion",
    "decision_maker",
    "end_user",
    "economic_buyer",
    "influencer",
    "technical_buyer",
)
SALES_TEAM_ROLES = (
    "sales_team_member",
    "account_manager",
    "delivery_professional",
    "technical_sales_professional",
    "industry_expert",
    "territory_manager",
    "service_professional",
)


def url(opportunity_id: str, things: str, key: str = "") -> str:
    return f"/api/v1/opportunities/{opportunity_id}/{things}" + (f"/{key}" if key else "")


def items(client: TestClient, headers: dict[str, str], opportunity_id: str, things: str) -> Any:
    answer = client.get(url(opportunity_id, things), headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def refused(
    client: TestClient,
    headers: dict[str, str],
    opportunity_id: str,
    things: str,
    method: str,
    path: str,
    status: int,
    body: Any = None,
) -> dict[str, Any]:
    """Send a bad request: it answers ``status`` as a problem, and the list is unchanged."""
    before = items(client, headers, opportunity_id, things)
    answer = client.request(method, path, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert items(client, headers, opportunity_id, things) == before
    problem: dict[str, Any] = answer.json()
    return problem


# Stakeholders.
def test_stakeholders_are_added_listed_changed_and_removed(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    account = create(client, headers, "accounts", name="Contoso")
    primary = create(client, headers, "contacts", first_name="Ana", last_name="Silva")
    other = create(client, headers, "contacts", last_name="Okafor", job_title="CFO")
    opportunity = create_opportunity(
        client, headers, account_id=account["id"], contact_id=primary["id"]
    )
    oid = opportunity["id"]
    # The opportunity's contact is a stakeholder from the start.
    listed = items(client, headers, oid, "stakeholders")
    assert [(s["contact_id"], s["name"], s["role"]) for s in listed] == [
        (primary["id"], "Ana Silva", "stakeholder")
    ]
    added = client.post(
        url(oid, "stakeholders"),
        json={"contact_id": other["id"], "role": "economic_buyer"},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    assert (added.json()["name"], added.json()["job_title"], added.json()["role"]) == (
        "Okafor",
        "CFO",
        "economic_buyer",
    )
    for role in STAKEHOLDER_ROLES:
        changed = client.patch(
            url(oid, "stakeholders", other["id"]), json={"role": role}, headers=headers
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["role"] == role
    listed = items(client, headers, oid, "stakeholders")
    assert [(s["contact_id"], s["role"]) for s in listed] == [
        (primary["id"], "stakeholder"),
        (other["id"], "technical_buyer"),
    ]
    removed = client.delete(url(oid, "stakeholders", primary["id"]), headers=headers)
    assert removed.status_code == 204, removed.text
    assert [s["contact_id"] for s in items(client, headers, oid, "stakeholders")] == [other["id"]]
    # Removing a stakeholder keeps the contact; changing the opportunity's contact adds it back.
    assert client.get(f"/api/v1/contacts/{primary['id']}", headers=headers).status_code == 200
    client.patch(
        f"/api/v1/opportunities/{oid}", json={"contact_id": primary["id"]}, headers=headers
    )
    assert len(items(client, headers, oid, "stakeholders")) == 2


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown role", 422),
        ("no role given on change", 422),
        ("unknown contact", 422),
        ("malformed contact", 422),
        ("unknown field", 422),
        ("already a stakeholder", 409),
        ("change a contact that is not one", 404),
        ("remove a contact that is not one", 404),
        ("unknown opportunity", 404),
    ],
)
def test_bad_stakeholder_requests(
    client: TestClient, factory: sessionmaker[Session], case: str, status: int
) -> None:
    headers = signed_in(client, factory)
    contact = create(client, headers, "contacts", last_name="Silva")
    stranger = create(client, headers, "contacts", last_name="Nobody")
    oid = create_opportunity(client, headers, contact_id=contact["id"])["id"]
    cid = contact["id"]
    requests: dict[str, tuple[str, str, Any]] = {
        "unknown role": ("POST", url(oid, "stakeholders"), {"contact_id": cid, "role": "boss"}),
        "no role given on change": ("PATCH", url(oid, "stakeholders", cid), {}),
        "unknown contact": ("POST", url(oid, "stakeholders"), {"contact_id": str(uuid.uuid4())}),
        "malformed contact": ("POST", url(oid, "stakeholders"), {"contact_id": "bob"}),
        "unknown field": (
            "POST",
            url(oid, "stakeholders"),
            {"contact_id": stranger["id"], "weight": 3},
        ),
        "already a stakeholder": ("POST", url(oid, "stakeholders"), {"contact_id": cid}),
        "change a contact that is not one": (
            "PATCH",
            url(oid, "stakeholders", stranger["id"]),
            {"role": "champion"},
        ),
        "remove a contact that is not one": (
            "DELETE",
            url(oid, "stakeholders", stranger["id"]),
            None,
        ),
        "unknown opportunity": (
            "POST",
            url(str(uuid.uuid4()), "stakeholders"),
            {"contact_id": stranger["id"]},
        ),
    }
    method, path, body = requests[case]
    problem = refused(client, headers, oid, "stakeholders", method, path, status, body)
    if case == "unknown contact":
        assert problem["field"] == "contact_id"


# Sales team.
def test_the_sales_team_is_added_listed_changed_and_removed(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    alice = user_in_unit(client, factory, "alice", "West")
    erin = user_in_unit(client, factory, "erin", "East")
    erin_id = client.get("/api/v1/auth/me", headers=erin).json()["id"]
    oid = create_opportunity(client, alice)["id"]
    assert items(client, alice, oid, "sales-team") == []
    # Another unit's salesperson cannot see the opportunity until they join its sales team.
    assert client.get(f"/api/v1/opportunities/{oid}", headers=erin).status_code == 404
    added = client.post(
        url(oid, "sales-team"),
        json={"user_id": erin_id, "role": "technical_sales_professional"},
        headers=alice,
    )
    assert added.status_code == 201, added.text
    assert (added.json()["username"], added.json()["role"]) == (
        "erin",
        "technical_sales_professional",
    )
    assert client.get(f"/api/v1/opportunities/{oid}", headers=erin).status_code == 200
    for role in SALES_TEAM_ROLES:
        changed = client.patch(url(oid, "sales-team", erin_id), json={"role": role}, headers=alice)
        assert changed.status_code == 200, changed.text
        assert changed.json()["role"] == role
    assert [(m["user_id"], m["role"]) for m in items(client, erin, oid, "sales-team")] == [
        (erin_id, "service_professional")
    ]
    assert client.delete(url(oid, "sales-team", erin_id), headers=alice).status_code == 204
    assert items(client, alice, oid, "sales-team") == []
    assert client.get(f"/api/v1/opportunities/{oid}", headers=erin).status_code == 404


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown role", 422),
        ("unknown user", 422),
        ("disabled user", 422),
        ("already on the team", 409),
        ("change a user not on the team", 404),
        ("remove a user not on the team", 404),
        ("closed opportunity", 409),
    ],
)
def test_bad_sales_team_requests(
    client: TestClient, factory: sessionmaker[Session], case: str, status: int
) -> None:
    headers = signed_in(client, factory, "admin", roles=["system-administrator"])
    me = client.get("/api/v1/auth/me", headers=headers).json()["id"]
    signed_in(client, factory, "gone")
    users = client.get("/api/v1/users", headers=headers).json()["items"]
    gone = next(u["id"] for u in users if u["username"] == "gone")
    disabled = client.patch(f"/api/v1/users/{gone}", json={"is_active": False}, headers=headers)
    assert disabled.status_code == 200, disabled.text
    oid = create_opportunity(client, headers)["id"]
    client.post(url(oid, "sales-team"), json={"user_id": me}, headers=headers)
    closed = create_opportunity(client, headers, name="Lost")["id"]
    client.post(f"/api/v1/opportunities/{closed}/lose", json={}, headers=headers)
    requests: dict[str, tuple[str, str, str, Any]] = {
        "unknown role": (oid, "POST", url(oid, "sales-team"), {"user_id": me, "role": "boss"}),
        "unknown user": (oid, "POST", url(oid, "sales-team"), {"user_id": str(uuid.uuid4())}),
        "disabled user": (oid, "POST", url(oid, "sales-team"), {"user_id": gone}),
        "already on the team": (oid, "POST", url(oid, "sales-team"), {"user_id": me}),
        "change a user not on the team": (
            oid,
            "PATCH",
            url(oid, "sales-team", gone),
            {"role": "industry_expert"},
        ),
        "remove a user not on the team": (oid, "DELETE", url(oid, "sales-team", gone), None),
        "closed opportunity": (closed, "POST", url(closed, "sales-team"), {"user_id": me}),
    }
    target, method, path, body = requests[case]
    problem = refused(client, headers, target, "sales-team", method, path, status, body)
    if case in ("unknown user", "disabled user"):
        assert problem["field"] == "user_id"


# Competitors.
def test_competitors_are_linked_listed_and_unlinked(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    rival = create(
        client,
        headers,
        "competitors",
        name="Fabrikam",
        website="https://fabrikam.example",
        strengths="Cheap.",
        weaknesses="Slow.",
    )
    oid = create_opportunity(client, headers)["id"]
    added = client.post(
        url(oid, "competitors"), json={"competitor_id": rival["id"]}, headers=headers
    )
    assert added.status_code == 201, added.text
    listed = items(client, headers, oid, "competitors")
    assert [
        (c["competitor_id"], c["name"], c["website"], c["strengths"], c["weaknesses"])
        for c in listed
    ] == [(rival["id"], "Fabrikam", "https://fabrikam.example", "Cheap.", "Slow.")]
    gone = client.delete(url(oid, "competitors", rival["id"]), headers=headers)
    assert gone.status_code == 204, gone.text
    assert items(client, headers, oid, "competitors") == []
    # The competitor itself stays.
    assert client.get(f"/api/v1/competitors/{rival['id']}", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown competitor", 422),
        ("no competitor", 422),
        ("already linked", 409),
        ("remove one not linked", 404),
        ("unknown opportunity", 404),
    ],
)
def test_bad_competitor_requests(
    client: TestClient, factory: sessionmaker[Session], case: str, status: int
) -> None:
    headers = signed_in(client, factory)
    rival = create(client, headers, "competitors", name="Fabrikam")
    other = create(client, headers, "competitors", name="Northwind")
    oid = create_opportunity(client, headers)["id"]
    client.post(url(oid, "competitors"), json={"competitor_id": rival["id"]}, headers=headers)
    requests: dict[str, tuple[str, str, Any]] = {
        "unknown competitor": (
            "POST",
            url(oid, "competitors"),
            {"competitor_id": str(uuid.uuid4())},
        ),
        "no competitor": ("POST", url(oid, "competitors"), {}),
        "already linked": ("POST", url(oid, "competitors"), {"competitor_id": rival["id"]}),
        "remove one not linked": ("DELETE", url(oid, "competitors", other["id"]), None),
        "unknown opportunity": ("DELETE", url(str(uuid.uuid4()), "competitors", rival["id"]), None),
    }
    method, path, body = requests[case]
    refused(client, headers, oid, "competitors", method, path, status, body)


# Who may do what.
def test_links_follow_the_opportunity_privileges(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Readers of the opportunity list its links; changing them needs append on it (403);
    those who cannot read it get 404 for everything."""
    alice = user_in_unit(client, factory, "alice", "West")
    bob = user_in_unit(client, factory, "bob", "West")
    erin = user_in_unit(client, factory, "erin", "East")
    contact = create(client, alice, "contacts", last_name="Silva")
    rival = create(client, alice, "competitors", name="Fabrikam")
    oid = create_opportunity(client, alice, contact_id=contact["id"])["id"]
    bob_id = client.get("/api/v1/auth/me", headers=bob).json()["id"]
    bodies = {
        "stakeholders": {"contact_id": contact["id"], "role": "champion"},
        "sales-team": {"user_id": bob_id},
        "competitors": {"competitor_id": rival["id"]},
    }
    for things, body in bodies.items():
        assert client.get(url(oid, things), headers=bob).status_code == 200
        refused(client, bob, oid, things, "POST", url(oid, things), 403, body)
        answer = client.get(url(oid, things), headers=erin)
        assert answer.status_code == 404, answer.text
        assert client.post(url(oid, things), json=body, headers=erin).status_code == 404
    refused(
        client,
        bob,
        oid,
        "stakeholders",
        "DELETE",
        url(oid, "stakeholders", contact["id"]),
        403,
    )


def test_a_closed_opportunity_keeps_its_links_until_reopened(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    contact = create(client, headers, "contacts", last_name="Silva")
    rival = create(client, headers, "competitors", name="Fabrikam")
    oid = create_opportunity(client, headers, contact_id=contact["id"])["id"]
    client.post(f"/api/v1/opportunities/{oid}/win", json={}, headers=headers)
    refused(
        client,
        headers,
        oid,
        "stakeholders",
        "PATCH",
        url(oid, "stakeholders", contact["id"]),
        409,
        {"role": "champion"},
    )
    refused(
        client,
        headers,
        oid,
        "competitors",
        "POST",
        url(oid, "competitors"),
        409,
        {"competitor_id": rival["id"]},
    )
    client.post(f"/api/v1/opportunities/{oid}/reopen", headers=headers)
    answer = client.post(
        url(oid, "competitors"), json={"competitor_id": rival["id"]}, headers=headers
    )
    assert answer.status_code == 201, answer.text


def test_link_changes_are_audited(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory, "admin", roles=["system-administrator"])
    contact = create(client, headers, "contacts", last_name="Silva")
    oid = create_opportunity(client, headers)["id"]
    client.post(url(oid, "stakeholders"), json={"contact_id": contact["id"]}, headers=headers)
    client.patch(
        url(oid, "stakeholders", contact["id"]), json={"role": "champion"}, headers=headers
    )
    client.delete(url(oid, "stakeholders", contact["id"]), headers=headers)
    answer = client.get(f"/api/v1/audit?table=opportunities&record_id={oid}", headers=headers)
    assert answer.status_code == 200, answer.text
    actions = [entry["action"] for entry in answer.json()["items"]]
    for action in ("add_stakeholder", "change_stakeholder", "remove_stakeholder"):
        assert action in actions
