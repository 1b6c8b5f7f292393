"""Reads answer from the driver's values (``RecordRepository.get_answer``/``page_answers``):
each record must read back exactly as the write that made it answered, from its ORM object."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oppflow.db import unit_of_work
from oppflow.errors import NotFound
from oppflow.quotes.repository import QuoteRepository
from oppflow.security.service import authenticate
from tests.helpers import create, create_lead, create_opportunity, signed_in, user_in_unit
from tests.quotes.sample_quote import make_quote

# Values each column type could convert wrongly: four decimal places, the largest money, a
# zero, booleans both ways, dates, NULLs beside set values, text with quotes and accents.
OPPORTUNITY = {
    "name": "Réseau « Nord », phase 2",
    "estimated_value": 999_999_999_999.9999,
    "estimated_close_date": "2027-02-28",
    "probability": 0,
    "rating": "hot",
    "description": 'Quotes " and \\ and a line\nbreak',
    "budget_amount": 0.0001,
    "purchase_timeframe": "this_quarter",
    "decision_maker_identified": True,
    "customer_need": None,
}


def _read_back(
    client: TestClient, headers: dict[str, str], path: str, made: dict[str, Any]
) -> None:
    one = client.get(f"/api/v1/{path}/{made['id']}", headers=headers)
    assert one.status_code == 200, one.text
    assert one.json() == made
    assert one.headers["ETag"] == f'"{made["version"]}"'
    listed = client.get(f"/api/v1/{path}", params={"limit": 200}, headers=headers).json()
    assert [item for item in listed["items"] if item["id"] == made["id"]] == [made]


def test_every_kind_of_record_reads_back_as_it_was_written(
    client: TestClient, factory: Any
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    account = create(client, headers, "accounts", name="Contoso", city="Zürich")
    contact = create(client, headers, "contacts", last_name="Ørsted", account_id=account["id"])
    competitor = create(client, headers, "competitors", name="Fabrikam")
    lead = create_lead(client, headers, topic="A lead", estimated_value=10.01)
    opportunity = create_opportunity(
        client, headers, **OPPORTUNITY, account_id=account["id"], contact_id=contact["id"]
    )
    for path, made in (
        ("accounts", account),
        ("contacts", contact),
        ("competitors", competitor),
        ("leads", lead),
        ("opportunities", opportunity),
    ):
        _read_back(client, headers, path, made)


def test_a_changed_record_reads_back_as_the_change_answered(
    client: TestClient, factory: Any
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    made = create_opportunity(client, headers, **OPPORTUNITY)
    changed = client.patch(
        f"/api/v1/opportunities/{made['id']}",
        json={"estimated_value": None, "decision_maker_identified": False, "rating": None},
        headers={**headers, "If-Match": f'"{made["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    _read_back(client, headers, "opportunities", changed.json())


def test_pages_walk_every_record_once_in_creation_order(client: TestClient, factory: Any) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    made = [create_opportunity(client, headers, name=f"Deal {n}")["id"] for n in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/opportunities", params=params, headers=headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_an_empty_cursor_is_the_first_page(client: TestClient, factory: Any) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    made = create_opportunity(client, headers)
    for path in ("opportunities", "leads", "accounts"):
        page = client.get(f"/api/v1/{path}", params={"cursor": ""}, headers=headers)
        assert page.status_code == 200, page.text
    listed = client.get("/api/v1/opportunities", params={"cursor": "", "q": ""}, headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [made["id"]]


def test_reads_by_id_keep_a_repositorys_own_scope(client: TestClient, factory: Any) -> None:
    """Quotes are scoped through their opportunity, not by read_scope on the quote table
    (which lets any salesperson through): require_readable and the answers use readable()."""
    owner = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, owner, language="en")
    stranger = user_in_unit(client, factory, "bob", "Elsewhere")
    quote_id = uuid.UUID(quote["id"])
    with unit_of_work(factory, read_only=True) as session:
        for headers, readable in ((owner, True), (stranger, False)):
            actor = authenticate(session, headers["Authorization"].removeprefix("Bearer "))
            repository = QuoteRepository(session, actor)
            if readable:
                repository.require_readable(quote_id)
            else:
                with pytest.raises(NotFound):
                    repository.require_readable(quote_id)
