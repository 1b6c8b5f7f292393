"""Pickers over HTTP: the search the script asks (JSON), the search-and-choose page that works
without scripts, and what a picker shows of a value its reader may not read."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from oppflow.db import unit_of_work
from oppflow.models import Opportunity, User
from tests.web.support import Factory, make_customer, make_opportunity, make_user, web_login

FETCH = {"X-Oppflow-Fetch": "1"}


@pytest.fixture
def alice(client: TestClient, factory: Factory) -> uuid.UUID:
    """Alice (salesperson) logged in; her id."""
    made = make_user(factory, "alice")
    web_login(client, "alice")
    return made


def test_the_script_gets_the_readable_matches_as_json(
    client: TestClient, factory: Factory, alice: uuid.UUID
) -> None:
    make_user(factory, "erin", unit="East")
    account_id, contact_id = make_customer(factory, "alice", "Contoso", "Jane Doe")
    make_customer(factory, "erin", "Contoso East", "John Roe")
    answer = client.get("/lookup/account", params={"q": "cont"}, headers=FETCH)
    assert answer.status_code == 200
    assert answer.json() == {"choices": [{"id": str(account_id), "label": "Contoso", "detail": ""}]}
    contacts = client.get("/lookup/contact", params={"q": "jane"}, headers=FETCH).json()
    assert contacts["choices"] == [
        {"id": str(contact_id), "label": "Jane Doe", "detail": "Contoso"}
    ]
    owners = client.get("/lookup/owner", params={"q": "er"}, headers=FETCH).json()
    assert [choice["label"] for choice in owners["choices"]] == ["Erin"]


def test_unknown_lookups_and_odd_fields_are_refused(client: TestClient, alice: uuid.UUID) -> None:
    assert client.get("/lookup/opportunity", headers=FETCH).status_code == 404
    assert client.get("/lookup/account", params={"field": "a b"}).status_code in (400, 422)
    assert client.get("/lookup/account", params={"q": "x" * 201}).status_code in (400, 422)


def test_search_and_choose_without_scripts_comes_back_with_the_choice(
    client: TestClient, factory: Factory, alice: uuid.UUID
) -> None:
    account_id, _ = make_customer(factory, "alice", "Fabrikam", "Ann Lee")
    form = client.get("/opportunities/new").text
    link = re.search(r'class="picker-search small" href="([^"]+)"', form)
    assert link is not None
    search = html.unescape(link.group(1))
    assert search.startswith("/lookup/account?field=account_id&back=%2Fopportunities%2Fnew")
    page = client.get(search + "&q=fab").text
    choose = re.search(r'<li><a href="([^"]+)">Fabrikam</a>', page)
    assert choose is not None
    back = html.unescape(choose.group(1))
    assert back == f"/opportunities/new?account_id={account_id}"
    again = client.get(back).text
    assert f'<option value="{account_id}" selected>Fabrikam</option>' in again


def test_a_link_never_leaves_the_site_nor_names_an_unreadable_record(
    client: TestClient, factory: Factory, alice: uuid.UUID
) -> None:
    make_user(factory, "erin", unit="East")
    hidden_id, _ = make_customer(factory, "erin", "Secret Corp", "Sam Secret")
    make_customer(factory, "alice", "Contoso", "Jane Doe")
    page = client.get("/lookup/account", params={"back": "//evil.example/x", "q": ""}).text
    assert 'href="//' not in page
    assert '<a class="button" href="/">' in page
    assert re.search(r'<li><a href="/\?account_id=[0-9a-f-]+">Contoso</a>', page)
    form = client.get(f"/opportunities/new?account_id={hidden_id}").text
    assert f'value="{hidden_id}"' not in form
    assert "Secret Corp" not in form


def test_a_value_the_reader_may_not_read_is_kept_but_not_named(
    client: TestClient, factory: Factory, alice: uuid.UUID
) -> None:
    make_user(factory, "erin", unit="East")
    hidden_id, _ = make_customer(factory, "erin", "Secret Corp", "Sam Secret")
    opportunity_id = make_opportunity(factory, "erin", name="Passed on", account_id=hidden_id)
    with unit_of_work(factory) as session:
        # Erin's deal passes to Alice; its account stays Erin's, out of Alice's reach.
        deal = session.get(Opportunity, opportunity_id)
        assert deal is not None
        deal.owner_id = alice
        deal.owning_business_unit_id = session.get(User, alice).business_unit_id  # type: ignore[union-attr]
    page = client.get(f"/opportunities/{opportunity_id}").text
    assert f'<option value="{hidden_id}" selected>A record you cannot see</option>' in page
    assert "Secret Corp" not in page
