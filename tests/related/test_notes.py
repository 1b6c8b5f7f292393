"""Notes on opportunities through HTTP: text, author and time; who may add and delete them."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create_opportunity, signed_in, user_in_unit


def notes_url(opportunity_id: str, note_id: str = "") -> str:
    return f"/api/v1/opportunities/{opportunity_id}/notes" + (f"/{note_id}" if note_id else "")


def texts(client: TestClient, headers: dict[str, str], opportunity_id: str) -> list[str]:
    answer = client.get(notes_url(opportunity_id), headers=headers)
    assert answer.status_code == 200, answer.text
    return [note["text"] for note in answer.json()["items"]]


def test_notes_carry_text_author_and_time(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    me = client.get("/api/v1/auth/me", headers=headers).json()["id"]
    oid = create_opportunity(client, headers)["id"]
    answer = client.post(notes_url(oid), json={"text": "Budget confirmed."}, headers=headers)
    assert answer.status_code == 201, answer.text
    note = answer.json()
    assert (note["text"], note["author_id"], note["opportunity_id"], note["lead_id"]) == (
        "Budget confirmed.",
        me,
        oid,
        None,
    )
    assert note["at"].endswith("Z") or "+00:00" in note["at"]
    client.post(notes_url(oid), json={"text": "Demo booked."}, headers=headers)
    assert texts(client, headers, oid) == ["Budget confirmed.", "Demo booked."]
    # A closed opportunity still takes notes (a debrief), though its fields are read-only.
    client.post(f"/api/v1/opportunities/{oid}/lose", json={}, headers=headers)
    debrief = client.post(notes_url(oid), json={"text": "Lost on price."}, headers=headers)
    assert debrief.status_code == 201, debrief.text


def test_bad_notes_are_refused(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    for body in ({}, {"text": ""}, {"text": " \n "}, {"text": 3}, {"text": "x" * 20_001}):
        answer = client.post(notes_url(oid), json=body, headers=headers)
        assert answer.status_code == 422, answer.text
    missing = client.post(notes_url(str(uuid.uuid4())), json={"text": "x"}, headers=headers)
    assert missing.status_code == 404, missing.text
    gone = client.delete(notes_url(oid, str(uuid.uuid4())), headers=headers)
    assert gone.status_code == 404, gone.text
    assert texts(client, headers, oid) == []


def test_who_may_add_read_and_delete_notes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    alice = user_in_unit(client, factory, "alice", "West")
    bob = user_in_unit(client, factory, "bob", "West")
    erin = user_in_unit(client, factory, "erin", "East")
    maya = user_in_unit(client, factory, "maya", "West", roles=["sales-manager"])
    oid = create_opportunity(client, alice)["id"]
    mine = client.post(notes_url(oid), json={"text": "Alice's note."}, headers=alice).json()
    # Bob reads the opportunity but may not append to it; Erin cannot read it at all.
    assert texts(client, bob, oid) == ["Alice's note."]
    assert client.post(notes_url(oid), json={"text": "Bob"}, headers=bob).status_code == 403
    assert client.get(notes_url(oid), headers=erin).status_code == 404
    assert client.delete(notes_url(oid, mine["id"]), headers=erin).status_code == 404
    # A manager may add notes; deleting someone else's needs write, which the manager has.
    theirs = client.post(notes_url(oid), json={"text": "Maya's note."}, headers=maya).json()
    assert client.delete(notes_url(oid, mine["id"]), headers=bob).status_code == 403
    assert client.delete(notes_url(oid, theirs["id"]), headers=alice).status_code == 204
    assert client.delete(notes_url(oid, mine["id"]), headers=alice).status_code == 204
    assert texts(client, alice, oid) == []


def test_a_note_is_deleted_only_through_its_own_record(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    first = create_opportunity(client, headers)["id"]
    second = create_opportunity(client, headers, name="Other")["id"]
    note = client.post(notes_url(first), json={"text": "On the first."}, headers=headers).json()
    assert client.delete(notes_url(second, note["id"]), headers=headers).status_code == 404
    assert texts(client, headers, first) == ["On the first."]
