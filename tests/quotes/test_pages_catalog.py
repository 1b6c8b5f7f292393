"""The catalogue pages over HTTP: a sales manager makes a unit group, a product, a price list
and its prices, and retires the product; a salesperson reads them but every change is a
message that changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import login
from tests.web.support import make_user, web_login

Factory = sessionmaker[Session]


def post(client: TestClient, path: str, **form: Any) -> str:
    answer = client.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    return location


def api(client: TestClient, user: str, path: str) -> Any:
    answer = client.get(f"/api/v1/{path}", headers=login(client, user))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_manager_builds_the_catalogue_from_the_pages(
    client: TestClient, factory: Factory
) -> None:
    make_user(factory, "maria", roles=["sales-manager"])
    client.cookies.set("oppflow_lang", "fr")
    csrf = web_login(client, "maria")
    assert "Créez d’abord un groupe d’unités" in client.get("/catalog/products").text

    post(client, "/catalog/unit-groups", csrf=csrf, name="Matériel", base_unit="Pièce")
    page = client.get("/catalog/products").text
    units = page.split('id="np-unit"', 1)[1]
    unit = re.findall(r'<option value="([0-9a-f-]{36})"', units)[0]
    post(
        client, "/catalog/products", csrf=csrf, name="Portable <b>14</b>",
        product_number="LAP-14", default_unit_id=unit, list_price="1500",
    )  # fmt: skip
    page = client.get("/catalog/products").text
    assert "Portable &lt;b&gt;14&lt;/b&gt;" in page
    [product] = api(client, "maria", "products")
    assert Decimal(str(product["list_price"])) == 1500

    created = post(client, "/catalog/price-lists", csrf=csrf, name="Europe", currency="eur")
    assert created.startswith("/catalog/price-lists/")
    post(
        client, f"{created}/items", csrf=csrf, product_id=product["id"],
        pricing_method="percent_of_list", percentage="90", rounding="none",
    )  # fmt: skip
    shown = client.get(created).text
    assert "Pourcentage du prix catalogue" in shown
    assert "90 %" in shown

    post(client, f"/catalog/products/{product['id']}/state", csrf=csrf, state="retired")
    assert api(client, "maria", "products")[0]["state"] == "retired"


def test_a_salesperson_reads_the_catalogue_and_changes_nothing(
    client: TestClient, factory: Factory
) -> None:
    make_user(factory, "alice")
    csrf = web_login(client, "alice")
    page = client.get("/catalog/products")
    assert page.status_code == 200
    assert 'action="/catalog/products"' not in page.text.replace(
        'method="get" action="/catalog/products"', ""
    )
    back = post(client, "/catalog/price-lists", csrf=csrf, name="Mine", currency="EUR")
    assert back == "/catalog/price-lists"
    assert "flash" in client.get(back).text
    assert api(client, "alice", "price-lists") == []
