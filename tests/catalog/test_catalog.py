"""The catalogue over HTTP: who may change it, versions, unique numbers, the checks on price
list items, and the audit log of every change."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.catalog.catalogue import make_catalogue
from tests.helpers import create_user, login, signed_in

H = dict[str, str]


def problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    return body


def test_salespeople_read_the_catalogue_and_managers_change_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    manager = signed_in(client, factory, "maria", roles=["sales-manager"])
    catalogue = make_catalogue(client, manager)
    create_user(factory, "sam")
    seller = login(client, "sam")

    listed = client.get("/api/v1/products", params={"q": "LAP"}, headers=seller)
    assert [p["id"] for p in listed.json()["items"]] == [catalogue.laptop]
    items = client.get(f"/api/v1/price-lists/{catalogue.euros}/items", headers=seller)
    assert len(items.json()["items"]) == 3
    body = {
        "name": "Mouse",
        "product_number": "MSE",
        "unit_group_id": catalogue.group,
        "default_unit_id": catalogue.each,
    }
    problem(client.post("/api/v1/products", json=body, headers=seller), 403)
    path = f"/api/v1/products/{catalogue.laptop}"
    problem(client.patch(path, json={"list_price": 1}, headers=seller), 403)
    problem(
        client.post(
            "/api/v1/price-lists", json={"name": "Mine", "currency": "EUR"}, headers=seller
        ),
        403,
    )
    assert client.get(path, headers=seller).json()["list_price"] == 1500


def test_versions_numbers_and_retirement(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    manager = signed_in(client, factory, "maria", roles=["sales-manager"])
    catalogue = make_catalogue(client, manager)
    path = f"/api/v1/products/{catalogue.laptop}"
    read = client.get(path, headers=manager)
    version = read.headers["ETag"]
    changed = client.patch(
        path, json={"list_price": 1600}, headers={**manager, "If-Match": version}
    )
    assert changed.status_code == 200, changed.text
    stale = client.patch(path, json={"list_price": 1700}, headers={**manager, "If-Match": version})
    assert problem(stale, 412)["current_version"] == changed.json()["version"]

    body = {
        "name": "Copy",
        "product_number": "LAP-14",
        "unit_group_id": catalogue.group,
        "default_unit_id": catalogue.each,
    }
    problem(client.post("/api/v1/products", json=body, headers=manager), 409)
    body |= {"product_number": "OTHER", "default_unit_id": str(uuid.uuid4())}
    assert problem(client.post("/api/v1/products", json=body, headers=manager), 422)["field"]

    retired = client.patch(path, json={"state": "retired"}, headers=manager)
    assert retired.json()["state"] == "retired"
    active = client.get("/api/v1/products", params={"state": "active"}, headers=manager)
    assert catalogue.laptop not in {p["id"] for p in active.json()["items"]}


def test_price_list_items_say_how_they_price(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    manager = signed_in(client, factory, "maria", roles=["sales-manager"])
    catalogue = make_catalogue(client, manager)
    items = f"/api/v1/price-lists/{catalogue.euros}/items"
    refusals = [
        ({"product_id": catalogue.cable, "pricing_method": "percent_of_list"}, 422),
        ({"product_id": catalogue.cable}, 422),
        ({"product_id": catalogue.cable, "amount": 1, "rounding": "up"}, 422),
        (
            {
                "product_id": catalogue.cable,
                "amount": 1,
                "volume_discounts": [{"from_quantity": 5}],
            },
            422,
        ),
        ({"product_id": catalogue.cable, "amount": 1, "unit_id": catalogue.box, "colour": 1}, 422),
        ({"product_id": catalogue.laptop, "amount": 1}, 409),
    ]
    for body, status in refusals:
        problem(client.post(items, json=body, headers=manager), status)
    assert len(client.get(items, headers=manager).json()["items"]) == 3
    span = {
        "name": "Backwards",
        "currency": "EUR",
        "begins_on": "2027-02-01",
        "ends_on": "2027-01-01",
    }
    problem(client.post("/api/v1/price-lists", json=span, headers=manager), 422)

    added = client.post(
        items, json={"product_id": catalogue.cable, "amount": "2.5"}, headers=manager
    )
    assert added.status_code == 201, added.text
    gone = client.delete(f"{items}/{added.json()['id']}", headers=manager)
    assert gone.status_code == 204
    audit = client.get("/api/v1/audit", params={"table": "price_list_items"}, headers=manager)
    actions = [
        row["action"] for row in audit.json()["items"] if row["record_id"] == added.json()["id"]
    ]
    assert sorted(actions) == ["create", "delete"]
