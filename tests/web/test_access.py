"""Assign, share and revoke from the record pages, on SQLite and PostgreSQL, with the API's rules:
the other user's access follows, a refusal changes nothing, and the panel offers only what the
user may do."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import Opportunity, RecordShare
from tests.client import AppClient
from tests.web.support import (
    Factory,
    csrf_of,
    make_customer,
    make_lead,
    make_opportunity,
    make_user,
    web_login,
)


@pytest.fixture
def people(factory: Factory) -> dict[str, uuid.UUID]:
    """Alice and Bob, salespeople of the root unit; Erin, a salesperson of East."""
    return {
        "alice": make_user(factory, "alice"),
        "bob": make_user(factory, "bob"),
        "erin": make_user(factory, "erin", unit="East"),
    }


def shares_of(factory: Factory, record_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    with unit_of_work(factory) as session:
        query = select(RecordShare.principal_id, RecordShare.action).where(
            RecordShare.record_id == record_id
        )
        return sorted((row.principal_id, row.action) for row in session.execute(query))


def post(client: TestClient, url: str, data: dict[str, object]) -> str:
    """Post a form as the pages do; the flash message's page once redirected."""
    token = csrf_of(client.get("/").text)
    answer = client.post(url, data={"csrf": token, **data}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_share_then_revoke_changes_what_the_other_user_reads(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    deal = make_opportunity(factory, "alice", name="Shared laptops")
    with AppClient(client.app) as erin_client:
        web_login(erin_client, "erin")
        assert erin_client.get(f"/opportunities/{deal}").status_code == 404
        web_login(client, "alice")
        page = client.get(f"/opportunities/{deal}").text
        assert 'id="access"' in page
        assert f'action="/opportunities/{deal}/shares"' in page
        where = post(
            client,
            f"/opportunities/{deal}/shares",
            {
                "principal_type": "user",
                "user_id": str(people["erin"]),
                "actions": ["read", "write"],
            },
        )
        assert where == f"/opportunities/{deal}#access"
        assert shares_of(factory, deal) == sorted(
            [(people["erin"], "read"), (people["erin"], "write")]
        )
        assert erin_client.get(f"/opportunities/{deal}").status_code == 200
        listed = client.get(f"/opportunities/{deal}").text
        assert "Erin" in listed
        assert "Read, Write" in listed
        post(client, f"/opportunities/{deal}/shares/revoke", {"principal_id": str(people["erin"])})
        assert shares_of(factory, deal) == []
        assert erin_client.get(f"/opportunities/{deal}").status_code == 404


def test_assign_gives_the_record_to_another_owner(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    deal = make_opportunity(factory, "alice", name="Desks")
    web_login(client, "alice")
    with unit_of_work(factory) as session:
        version = session.get(Opportunity, deal).version  # type: ignore[union-attr]
    post(
        client,
        f"/opportunities/{deal}/assign",
        {"owner_id": str(people["bob"]), "version": version},
    )
    with unit_of_work(factory) as session:
        assert session.get(Opportunity, deal).owner_id == people["bob"]  # type: ignore[union-attr]
    page = client.get(f"/opportunities/{deal}").text
    assert "<dt>Owner</dt><dd>Bob</dd>" in page.replace("\n", "").replace("  ", "")


def test_refusals_change_nothing_and_the_panel_offers_only_what_is_allowed(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    bobs = make_opportunity(factory, "bob", name="Bob's deal")
    own = make_opportunity(factory, "alice", name="Alice's deal")
    web_login(client, "alice")
    page = client.get(f"/opportunities/{bobs}").text  # read at unit depth, share only her own
    assert 'id="access"' in page
    assert f'action="/opportunities/{bobs}/shares"' not in page
    assert f'action="/opportunities/{bobs}/assign"' not in page
    post(
        client,
        f"/opportunities/{bobs}/shares",
        {"user_id": str(people["erin"]), "actions": ["read"]},
    )
    assert shares_of(factory, bobs) == []
    refused = client.get(f"/opportunities/{bobs}")
    assert "flash-error" in refused.text
    # An unknown right, no right, or a user who does not exist: a message, no share.
    odd: list[dict[str, object]] = [
        {"user_id": str(people["erin"]), "actions": ["fly"]},
        {"user_id": str(people["erin"])},
        {"user_id": str(uuid.uuid4()), "actions": ["read"]},
        {"principal_type": "team", "team_id": "nope", "actions": ["read"]},
    ]
    for data in odd:
        post(client, f"/opportunities/{own}/shares", data)
        assert shares_of(factory, own) == []
    # Assigning to a user who could not read the record is the API's 422, here a message.
    post(client, f"/opportunities/{own}/assign", {"owner_id": str(uuid.uuid4())})
    assert "flash-error" in client.get(f"/opportunities/{own}").text
    assert (
        client.post(
            f"/widgets/{own}/assign", data={"csrf": csrf_of(client.get("/").text)}
        ).status_code
        == 404
    )


def test_accounts_contacts_and_leads_have_the_panel(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    account, contact = make_customer(factory, "alice", "Contoso", "Jane Doe")
    lead = make_lead(factory, "alice")
    web_login(client, "alice")
    for things, record in (("accounts", account), ("contacts", contact), ("leads", lead)):
        page = client.get(f"/{things}/{record}").text
        assert f'action="/{things}/{record}/shares"' in page
        post(
            client,
            f"/{things}/{record}/shares",
            {"user_id": str(people["erin"]), "actions": ["read"]},
        )
        assert shares_of(factory, record) == [(people["erin"], "read")]


def test_the_panel_speaks_french(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    deal = make_opportunity(factory, "alice", name="Portables")
    web_login(client, "alice")
    client.cookies.set("oppflow_lang", "fr")
    page = client.get(f"/opportunities/{deal}").text
    assert "Accès" in page
    assert "Partager avec" in page
    assert ">Partager</button>" in page
