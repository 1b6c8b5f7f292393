"""Leads through HTTP: create, list, change, delete; disqualify, reactivate; closed leads."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.models import Note, ProcessInstance, StageHistory
from tests.helpers import create, create_lead, signed_in, user_in_unit


def get(client: TestClient, headers: dict[str, str], path: str) -> Any:
    answer = client.get(f"/api/v1/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def post(client: TestClient, headers: dict[str, str], path: str, **body: Any) -> Any:
    return client.post(f"/api/v1/{path}", json=body, headers=headers)


def test_a_new_lead_is_open_and_new_with_its_fields(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    me = get(client, headers, "auth/me")
    answer = client.post(
        "/api/v1/leads",
        json={
            "topic": "  Printers for the branch  ",
            "first_name": "Ana",
            "last_name": "Silva",
            "company_name": "Contoso",
            "email": "ana@contoso.example",
            "phone": "+351 555 0101",
            "estimated_value": 12000.5,
            "source": "web",
            "description": "Asked for a quote.",
            "purchase_process": "individual",
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    lead = answer.json()
    assert answer.headers["ETag"] == f'"{lead["version"]}"'
    assert lead["topic"] == "Printers for the branch"
    assert (lead["state"], lead["status_reason"]) == ("open", "new")
    assert lead["owner_id"] == me["id"]
    assert lead["estimated_value"] == 12000.5
    assert lead["decision_maker_identified"] is False
    assert lead["qualified_opportunity_id"] is None
    assert get(client, headers, f"leads/{lead['id']}") == lead


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"topic": ""},
        {"topic": "x", "email": "not an e-mail"},
        {"topic": "x", "source": "carrier pigeon"},
        {"topic": "x", "status_reason": "qualified"},
        {"topic": "x", "state": "qualified"},
        {"topic": "x", "estimated_value": -1},
        {"topic": "x", "company_name": "c" * 161},
        {"topic": "x", "account_id": str(uuid.uuid4())},
        {"topic": "x", "owner_id": str(uuid.uuid4())},
    ],
)
def test_bad_leads_are_refused(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any]
) -> None:
    headers = signed_in(client, factory)
    answer = client.post("/api/v1/leads", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert get(client, headers, "leads")["items"] == []


def test_leads_are_listed_and_filtered(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    web = create_lead(client, headers, topic="Laptops", source="web", company_name="Contoso")
    fair = create_lead(
        client, headers, topic="Tablets", source="trade_show", email="x@tail.example"
    )
    post(client, headers, f"leads/{fair['id']}/disqualify", status_reason="lost")

    def ids(query: str) -> list[str]:
        return [lead["id"] for lead in get(client, headers, f"leads?{query}")["items"]]

    assert ids("") == [web["id"], fair["id"]]
    assert ids("state=open") == [web["id"]]
    assert ids("state=disqualified&status_reason=lost") == [fair["id"]]
    assert ids("source=trade_show") == [fair["id"]]
    assert ids("q=conto") == [web["id"]]
    assert ids("q=TAIL.example") == [fair["id"]]
    assert ids("q=100%25") == []
    first = get(client, headers, "leads?limit=1")
    assert [lead["id"] for lead in first["items"]] == [web["id"]]
    rest = get(client, headers, f"leads?limit=1&cursor={first['next_cursor']}")
    assert [lead["id"] for lead in rest["items"]] == [fair["id"]]
    assert client.get("/api/v1/leads?state=won", headers=headers).status_code == 422


def test_an_open_lead_is_changed_with_if_match(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers)
    path = f"/api/v1/leads/{lead['id']}"
    changed = client.patch(
        path,
        json={"status_reason": "contacted", "budget_amount": 9000, "email": None},
        headers=headers | {"If-Match": f'"{lead["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status_reason"] == "contacted"
    assert changed.json()["version"] == lead["version"] + 1
    stale = client.patch(
        path, json={"topic": "Later"}, headers=headers | {"If-Match": f'"{lead["version"]}"'}
    )
    assert stale.status_code == 412, stale.text
    for body in ({"topic": None}, {"status_reason": "lost"}, {"state": "open"}):
        assert client.patch(path, json=body, headers=headers).status_code == 422, body
    assert get(client, headers, f"leads/{lead['id']}")["version"] == lead["version"] + 1


def test_disqualify_and_reactivate(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers)
    for reason in ("lost", "cannot_contact", "no_longer_interested", "canceled"):
        answer = post(client, headers, f"leads/{lead['id']}/disqualify", status_reason=reason)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["state"], answer.json()["status_reason"]) == (
            "disqualified",
            reason,
        )
        again = post(client, headers, f"leads/{lead['id']}/disqualify", status_reason=reason)
        assert again.status_code == 409, again.text
        reopened = post(client, headers, f"leads/{lead['id']}/reactivate")
        assert reopened.status_code == 200, reopened.text
        assert (reopened.json()["state"], reopened.json()["status_reason"]) == ("open", "new")
    assert post(client, headers, f"leads/{lead['id']}/reactivate").status_code == 409
    for bad in ({"status_reason": "qualified"}, {"status_reason": "won"}, {}):
        answer = client.post(f"/api/v1/leads/{lead['id']}/disqualify", json=bad, headers=headers)
        assert answer.status_code == 422, answer.text
    assert get(client, headers, f"leads/{lead['id']}")["state"] == "open"


def test_edits_of_a_closed_lead_answer_409_until_it_is_reactivated(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, company_name="Contoso", last_name="Doe")
    path = f"/api/v1/leads/{lead['id']}"
    post(client, headers, f"leads/{lead['id']}/disqualify", status_reason="canceled")
    refused = client.patch(path, json={"topic": "Changed"}, headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["state"] == "disqualified"
    assert post(client, headers, f"leads/{lead['id']}/qualify").status_code == 409

    post(client, headers, f"leads/{lead['id']}/reactivate")
    assert client.patch(path, json={"topic": "Changed"}, headers=headers).status_code == 200

    assert post(client, headers, f"leads/{lead['id']}/qualify").status_code == 200
    closed = get(client, headers, f"leads/{lead['id']}")
    assert client.patch(path, json={"topic": "Again"}, headers=headers).status_code == 409
    assert client.delete(path, headers=headers).status_code == 409
    assert get(client, headers, f"leads/{lead['id']}") == closed


def test_a_lead_with_an_opportunity_cannot_be_disqualified(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers)
    opportunity_id = post(client, headers, f"leads/{lead['id']}/qualify").json()["opportunity_id"]
    refused = post(client, headers, f"leads/{lead['id']}/disqualify", status_reason="lost")
    assert refused.status_code == 409, refused.text
    assert refused.json()["opportunity_id"] == opportunity_id
    # Reactivated, it is open and editable, and still cannot be disqualified.
    assert post(client, headers, f"leads/{lead['id']}/reactivate").status_code == 200
    refused = post(client, headers, f"leads/{lead['id']}/disqualify", status_reason="lost")
    assert refused.status_code == 409, refused.text
    assert get(client, headers, f"leads/{lead['id']}")["state"] == "open"


def test_deleting_a_lead_takes_its_notes_and_process_with_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers)
    post(client, headers, f"leads/{lead['id']}/notes", text="Call back on Monday.")
    stale = client.delete(f"/api/v1/leads/{lead['id']}", headers=headers | {"If-Match": '"7"'})
    assert stale.status_code == 412, stale.text
    assert client.delete(f"/api/v1/leads/{lead['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=headers).status_code == 404
    with factory() as session:
        for model in (Note, ProcessInstance, StageHistory):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model


def test_lead_notes(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers)
    first = post(client, headers, f"leads/{lead['id']}/notes", text="  Called, no answer.  ")
    assert first.status_code == 201, first.text
    assert first.json()["text"] == "Called, no answer."
    assert first.json()["lead_id"] == lead["id"]
    assert first.json()["opportunity_id"] is None
    post(client, headers, f"leads/{lead['id']}/disqualify", status_reason="cannot_contact")
    # Notes are commentary: a closed lead takes them too.
    second = post(client, headers, f"leads/{lead['id']}/notes", text="Left a voicemail.")
    assert second.status_code == 201, second.text
    texts = [n["text"] for n in get(client, headers, f"leads/{lead['id']}/notes")["items"]]
    assert texts == ["Called, no answer.", "Left a voicemail."]
    for bad in ({"text": "   "}, {"text": "x" * 20_001}, {}, {"text": "a", "author_id": "x"}):
        answer = client.post(f"/api/v1/leads/{lead['id']}/notes", json=bad, headers=headers)
        assert answer.status_code == 422, answer.text
    gone = client.delete(f"/api/v1/leads/{lead['id']}/notes/{first.json()['id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    again = client.delete(f"/api/v1/leads/{lead['id']}/notes/{first.json()['id']}", headers=headers)
    assert again.status_code == 404, again.text
    texts = [n["text"] for n in get(client, headers, f"leads/{lead['id']}/notes")["items"]]
    assert texts == ["Left a voicemail."]


def test_leads_follow_the_privilege_depths(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """A salesperson reads the leads of their business unit and changes only their own; other
    units' leads do not exist for them."""
    alice = user_in_unit(client, factory, "alice", "West")
    bob = user_in_unit(client, factory, "bob", "West")
    erin = user_in_unit(client, factory, "erin", "East")
    lead = create_lead(client, alice)
    assert get(client, bob, f"leads/{lead['id']}")["id"] == lead["id"]
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=erin).status_code == 404
    assert get(client, erin, "leads")["items"] == []
    path = f"/api/v1/leads/{lead['id']}"
    assert client.patch(path, json={"topic": "Mine"}, headers=bob).status_code == 403
    assert post(client, bob, f"leads/{lead['id']}/qualify").status_code == 403
    assert post(client, bob, f"leads/{lead['id']}/notes", text="Hi").status_code == 403
    answer = post(client, erin, f"leads/{lead['id']}/disqualify", status_reason="lost")
    assert answer.status_code == 404
    assert get(client, alice, f"leads/{lead['id']}")["version"] == lead["version"]


def test_a_salesperson_cannot_qualify_into_records_for_another_owner(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Sharing a lead for write lets another salesperson qualify it only if they may create the
    records for its owner; otherwise nothing is created."""
    alice = user_in_unit(client, factory, "alice", "West")
    bob = user_in_unit(client, factory, "bob", "West")
    bob_id = get(client, bob, "auth/me")["id"]
    lead = create_lead(client, alice, company_name="Contoso")
    shared = post(
        client,
        alice,
        f"leads/{lead['id']}/shares",
        principal_type="user",
        principal_id=bob_id,
        actions=["write"],
    )
    assert shared.status_code == 201, shared.text
    answer = post(client, bob, f"leads/{lead['id']}/qualify")
    assert answer.status_code == 403, answer.text
    assert get(client, alice, "accounts")["items"] == []
    assert get(client, alice, f"leads/{lead['id']}")["state"] == "open"


def test_the_lead_owner_and_its_unit_are_those_asked_for(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    manager = user_in_unit(client, factory, "maya", "West", roles=["sales-manager"])
    alice = user_in_unit(client, factory, "alice", "West")
    alice_id = get(client, alice, "auth/me")["id"]
    lead = create(client, manager, "leads", topic="For Alice", owner_id=alice_id)
    assert lead["owner_id"] == alice_id
    assert get(client, alice, f"leads/{lead['id']}")["id"] == lead["id"]
