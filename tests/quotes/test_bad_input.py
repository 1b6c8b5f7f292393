"""Bad lines and quotes are refused whole: a 4xx problem, never a 500, and nothing changed
(the opportunity, its lines and its quotes read the same before and after)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.catalog.catalogue import Catalogue, make_catalogue
from tests.helpers import create, create_opportunity, signed_in

H = dict[str, str]
LAPTOP = "laptop"


def state(client: TestClient, headers: H, oid: str) -> Any:
    """What a refused request must leave as it was."""
    read = [
        client.get(f"/api/v1/{path}", headers=headers).json()
        for path in (
            f"opportunities/{oid}",
            f"opportunities/{oid}/lines",
            f"quotes?opportunity_id={oid}",
            "opportunities?limit=200",
        )
    ]
    quote_lines = [
        client.get(f"/api/v1/quotes/{quote['id']}/lines", headers=headers).json()
        for quote in read[2]["items"]
    ]
    return [*read, quote_lines]


def refused(answer: Any, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == status


def line(catalogue: Catalogue, **fields: Any) -> dict[str, Any]:
    """A line of the laptop unless ``fields`` say otherwise."""
    return {"product_id": catalogue.laptop, "quantity": 1, **fields}


def bad_lines(catalogue: Catalogue) -> dict[str, tuple[dict[str, Any], int]]:
    """Each refused line body, with the status it answers."""
    return {
        "negative quantity": (line(catalogue, quantity=-1), 422),
        "zero quantity": (line(catalogue, quantity=0), 422),
        "negative tax": (line(catalogue, tax=-5), 422),
        "unknown product": (line(catalogue, product_id=str(uuid.uuid4())), 422),
        "retired product": (line(catalogue, product_id=catalogue.dock), 422),
        "product not on the price list": (line(catalogue, product_id=catalogue.cable), 422),
        "unit of another group": (line(catalogue, unit_id=str(uuid.uuid4())), 422),
        "product and write-in": (line(catalogue, write_in_name="Both", price_per_unit=1), 422),
        "write-in without a price": ({"write_in_name": "Service", "quantity": 1}, 422),
        "discount above the amount": (line(catalogue, manual_discount=5000), 422),
        "amount beyond the columns": (
            line(catalogue, quantity=999_999_999, price_per_unit=10**9),
            422,
        ),
        "unknown field": (line(catalogue, colour="red"), 422),
        "price as text": (line(catalogue, price_per_unit="cheap"), 422),
    }


@pytest.fixture
def scene(client: TestClient, factory: sessionmaker[Session]) -> tuple[H, Catalogue, str]:
    headers = signed_in(client, factory, roles=["sales-manager"])
    catalogue = make_catalogue(client, headers)
    retire = client.patch(
        f"/api/v1/products/{catalogue.dock}", json={"state": "retired"}, headers=headers
    )
    assert retire.status_code == 200, retire.text
    opportunity = create_opportunity(
        client,
        headers,
        currency="EUR",
        price_list_id=catalogue.euros,
        is_revenue_system_calculated=True,
    )
    create(client, headers, f"opportunities/{opportunity['id']}/lines", **line(catalogue))
    create(client, headers, f"opportunities/{opportunity['id']}/quotes")
    return headers, catalogue, str(opportunity["id"])


def test_bad_lines_change_nothing(client: TestClient, scene: tuple[H, Catalogue, str]) -> None:
    headers, catalogue, oid = scene
    before = state(client, headers, oid)
    quote_id = before[2]["items"][0]["id"]
    for name, (body, status) in bad_lines(catalogue).items():
        for path in (f"opportunities/{oid}/lines", f"quotes/{quote_id}/lines"):
            answer = client.post(f"/api/v1/{path}", json=body, headers=headers)
            refused(answer, status)
            grid = client.put(
                f"/api/v1/{path}", json={"lines": [line(catalogue), body]}, headers=headers
            )
            refused(grid, status)
        assert state(client, headers, oid) == before, name


def test_ten_thousand_lines_in_one_request_are_refused(
    client: TestClient, scene: tuple[H, Catalogue, str]
) -> None:
    headers, catalogue, oid = scene
    before = state(client, headers, oid)
    quote_id = before[2]["items"][0]["id"]
    many = {"lines": [line(catalogue)] * 10_000}
    for path in (f"opportunities/{oid}/lines", f"quotes/{quote_id}/lines"):
        refused(client.put(f"/api/v1/{path}", json=many, headers=headers), 422)
    assert state(client, headers, oid) == before


def test_a_price_list_of_another_currency_is_refused(
    client: TestClient, scene: tuple[H, Catalogue, str]
) -> None:
    headers, catalogue, oid = scene
    before = state(client, headers, oid)
    path = f"/api/v1/opportunities/{oid}"
    refused(client.patch(path, json={"price_list_id": catalogue.dollars}, headers=headers), 422)
    refused(client.patch(path, json={"currency": "USD"}, headers=headers), 422)
    refused(client.patch(path, json={"estimated_value": 5}, headers=headers), 422)
    body = {"name": "Dollars", "currency": "EUR", "price_list_id": catalogue.dollars}
    refused(client.post("/api/v1/opportunities", json=body, headers=headers), 422)
    body = {"name": "Typed", "is_revenue_system_calculated": True, "estimated_value": 5}
    refused(client.post("/api/v1/opportunities", json=body, headers=headers), 422)
    assert state(client, headers, oid) == before


def test_quotes_of_unknown_or_closed_records_are_refused(
    client: TestClient, scene: tuple[H, Catalogue, str]
) -> None:
    headers, _, oid = scene
    before = state(client, headers, oid)
    unknown = str(uuid.uuid4())
    refused(client.post(f"/api/v1/opportunities/{unknown}/quotes", json={}, headers=headers), 404)
    refused(client.post(f"/api/v1/quotes/{unknown}/activate", headers=headers), 404)
    body = {"effective_from": "2027-02-01", "effective_to": "2027-01-01"}
    refused(client.post(f"/api/v1/opportunities/{oid}/quotes", json=body, headers=headers), 422)
    body = {"contact_id": unknown}
    refused(client.post(f"/api/v1/opportunities/{oid}/quotes", json=body, headers=headers), 422)
    assert state(client, headers, oid) == before
