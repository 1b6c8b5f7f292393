"""Bulk actions of the opportunity list over HTTP on SQLite and PostgreSQL: assign, forecast,
export of the chosen rows; a refused record refuses the batch and nothing changes."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import Opportunity
from tests.web.support import Factory, csrf_of, make_opportunity, make_user, web_login


@pytest.fixture
def people(client: TestClient, factory: Factory) -> dict[str, uuid.UUID]:
    found = {"alice": make_user(factory, "alice"), "bob": make_user(factory, "bob")}
    web_login(client, "alice")
    return found


def bulk(client: TestClient, **data: object) -> object:
    token = csrf_of(client.get("/opportunities").text)
    return client.post("/opportunities/bulk", data={"csrf": token, **data}, follow_redirects=False)


def owners(factory: Factory, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    with unit_of_work(factory) as session:
        query = select(Opportunity.owner_id).where(Opportunity.id.in_(ids))
        return set(session.scalars(query))


def test_assign_and_forecast_many(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    ids = [make_opportunity(factory, "alice", name=f"Deal {n}") for n in range(5)]
    answer = bulk(
        client, action="assign", owner_id=str(people["bob"]), ids=[str(i) for i in ids[:3]]
    )
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert owners(factory, ids[:3]) == {people["bob"]}
    assert owners(factory, ids[3:]) == {people["alice"]}
    assert "3 opportunities changed." in client.get("/opportunities").text
    bulk(client, action="forecast", forecast_category="committed", ids=[str(i) for i in ids[3:]])
    with unit_of_work(factory) as session:
        query = select(Opportunity.forecast_category).where(Opportunity.id.in_(ids[3:]))
        assert set(session.scalars(query)) == {"committed"}


def test_one_refusal_changes_nothing(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    own = [make_opportunity(factory, "alice", name=f"Mine {n}") for n in range(3)]
    bobs = make_opportunity(factory, "bob", name="Bob's")  # Alice reads it, may not assign it
    chosen = [str(i) for i in [*own, bobs]]
    bulk(client, action="assign", owner_id=str(people["bob"]), ids=chosen)
    assert owners(factory, own) == {people["alice"]}
    assert "flash-error" in client.get("/opportunities").text
    for data in (
        {"action": "assign", "ids": [str(own[0])]},
        {"action": "forecast", "forecast_category": "galaxy", "ids": [str(own[0])]},
        {"action": "fly", "ids": [str(own[0])]},
        {"action": "assign", "owner_id": str(people["bob"])},
    ):
        bulk(client, **data)
        assert owners(factory, own) == {people["alice"]}
        assert "flash-error" in client.get("/opportunities").text


def test_export_the_chosen_rows_the_user_may_read(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    make_user(factory, "erin", unit="East")
    ids = [make_opportunity(factory, "alice", name=f"Export {n}") for n in range(2)]
    hidden = make_opportunity(factory, "erin", name="Not for Alice")
    answer = bulk(client, action="export", ids=[str(i) for i in [*ids, hidden]])
    assert answer.status_code == 200  # type: ignore[attr-defined]
    assert answer.headers["content-type"].startswith("text/csv")  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(answer.text)))  # type: ignore[attr-defined]
    assert [row["name"] for row in rows] == ["Export 0", "Export 1"]
    assert {row["id"] for row in rows} == {str(i) for i in ids}


def test_the_list_offers_the_bulk_form_in_french(
    client: TestClient, factory: Factory, people: dict[str, uuid.UUID]
) -> None:
    make_opportunity(factory, "alice", name="Une affaire")
    client.cookies.set("oppflow_lang", "fr")
    page = client.get("/opportunities?view=my_open").text
    assert 'form="bulk"' in page
    assert "Pour les opportunités choisies" in page
