"""A small catalogue made through the API, for the tests of the catalogue and of quotes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import create

H = dict[str, str]


@dataclass(frozen=True)
class Catalogue:
    """Ids of what :func:`make_catalogue` made."""

    group: str
    each: str
    box: str
    laptop: str
    dock: str
    cable: str
    euros: str
    dollars: str


def make_catalogue(client: TestClient, headers: H) -> Catalogue:
    """Hardware sold by the unit ("Each") or by the box of 10; a laptop at 1,234.50 € with
    quantity breaks (5 % from 10, 10 % from 50), a box of 10 laptops at 11,000 €, a dock at
    150 % of its cost rounded up to 5 €, a cable only in the dollar price list."""
    group = create(client, headers, "unit-groups", name="Hardware", base_unit="Each")
    each = _units(client, headers, group["id"])[0]["id"]
    box = create(client, headers, "units", group_id=group["id"], name="Box of 10", quantity=10)
    laptop = _product(client, headers, group["id"], each, "Laptop 14", "LAP-14", list_price=1500)
    dock = _product(client, headers, group["id"], each, "USB-C dock", "DCK-1", standard_cost=100.33)
    cable = _product(client, headers, group["id"], each, "Cable", "CBL-1", list_price=10)
    euros = create(client, headers, "price-lists", name="Europe 2027", currency="EUR")["id"]
    dollars = create(client, headers, "price-lists", name="America 2027", currency="USD")["id"]
    breaks = [
        {"from_quantity": 10, "percentage": 5},
        {"from_quantity": 50, "percentage": 10},
    ]
    item(client, headers, euros, product_id=laptop, amount=1234.5, volume_discounts=breaks)
    item(client, headers, euros, product_id=laptop, unit_id=box["id"], amount=11000)
    item(
        client,
        headers,
        euros,
        product_id=dock,
        pricing_method="percent_of_cost",
        percentage=150,
        rounding="up",
        rounding_amount=5,
    )
    item(client, headers, dollars, product_id=cable, amount=9.99)
    return Catalogue(group["id"], each, box["id"], laptop, dock, cable, euros, dollars)


def _units(client: TestClient, headers: H, group_id: str) -> list[Any]:
    answer = client.get("/api/v1/units", params={"group_id": group_id}, headers=headers)
    assert answer.status_code == 200, answer.text
    units: list[Any] = answer.json()["items"]
    return units


def _product(
    client: TestClient, headers: H, group: str, unit: str, name: str, number: str, **fields: Any
) -> str:
    body = {"unit_group_id": group, "default_unit_id": unit, "product_number": number, **fields}
    return str(create(client, headers, "products", name=name, **body)["id"])


def item(client: TestClient, headers: H, price_list: str, **fields: Any) -> Any:
    return create(client, headers, f"price-lists/{price_list}/items", **fields)
