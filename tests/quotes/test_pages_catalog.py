"""The catalogue pages over HTTP: a sales manager makes a unit group, a product, a price list
and its prices, and retires the product; edits a product, a price list and product families
on their pages; a salesperson reads them but every change is a message that changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.catalog.catalogue import Catalogue, make_catalogue
from tests.helpers import login, signed_in
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


def manager_with_catalogue(client: TestClient, factory: Factory) -> tuple[Catalogue, str]:
    """maria (sales manager) with the test catalogue, on the French pages: its ids and her
    CSRF token."""
    catalogue = make_catalogue(client, signed_in(client, factory, "maria", roles=["sales-manager"]))
    client.cookies.set("oppflow_lang", "fr")
    return catalogue, web_login(client, "maria")


def one(client: TestClient, user: str, path: str) -> Any:
    answer = client.get(f"/api/v1/{path}", headers=login(client, user))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_manager_edits_a_product_on_its_page(client: TestClient, factory: Factory) -> None:
    catalogue, csrf = manager_with_catalogue(client, factory)
    post(client, "/catalog/families", csrf=csrf, name="Ordinateurs")
    [family] = api(client, "maria", "product-families")
    path = f"/catalog/products/{catalogue.laptop}"
    assert 'href="/catalog/products/' in client.get("/catalog/products").text
    assert "Ordinateurs" in client.get(path).text
    version = str(one(client, "maria", f"products/{catalogue.laptop}")["version"])

    back = post(
        client, path, csrf=csrf, version=version, name="Portable 14", product_number="LAP-14",
        description="Léger", default_unit_id=catalogue.box, list_price="1600.50",
        standard_cost="", family_id=family["id"], default_price_list_id=catalogue.euros,
    )  # fmt: skip
    assert back == path
    saved = one(client, "maria", f"products/{catalogue.laptop}")
    assert (saved["name"], saved["description"], saved["default_unit_id"]) == (
        "Portable 14",
        "Léger",
        catalogue.box,
    )
    assert Decimal(str(saved["list_price"])) == Decimal("1600.50")
    assert (saved["family_id"], saved["default_price_list_id"]) == (family["id"], catalogue.euros)

    # A stale form, a number another product has and a blank name change nothing.
    for changes in ({"version": version}, {"product_number": "DCK-1"}, {"name": ""}):
        fields = {"name": "Autre", "product_number": "LAP-14", "default_unit_id": catalogue.each}
        assert post(client, path, csrf=csrf, **(fields | changes)) == path
        assert "flash" in client.get(path).text
    assert one(client, "maria", f"products/{catalogue.laptop}")["version"] == saved["version"]


def test_a_product_is_retired_and_made_active_again_from_its_page(
    client: TestClient, factory: Factory
) -> None:
    catalogue, csrf = manager_with_catalogue(client, factory)
    path = f"/catalog/products/{catalogue.dock}"
    assert post(client, f"{path}/state", csrf=csrf, state="retired", **{"from": "product"}) == path
    assert one(client, "maria", f"products/{catalogue.dock}")["state"] == "retired"
    assert "Réactiver" in client.get(path).text
    post(client, f"{path}/state", csrf=csrf, state="active", **{"from": "product"})
    assert one(client, "maria", f"products/{catalogue.dock}")["state"] == "active"


def test_a_price_list_is_edited_and_its_currency_stays(
    client: TestClient, factory: Factory
) -> None:
    catalogue, csrf = manager_with_catalogue(client, factory)
    path = f"/catalog/price-lists/{catalogue.euros}"
    assert "La devise d’une liste de prix ne peut pas changer" in client.get(path).text
    post(
        client, path, csrf=csrf, name="Europe 2028", begins_on="2027-01-01",
        ends_on="2027-12-31", description="Tarif public", currency="USD",
    )  # fmt: skip
    saved = one(client, "maria", f"price-lists/{catalogue.euros}")
    assert (saved["name"], saved["currency"], saved["ends_on"]) == (
        "Europe 2028",
        "EUR",
        "2027-12-31",
    )
    refused = post(client, path, csrf=csrf, name="X", begins_on="2027-06-01", ends_on="2027-01-01")
    assert refused == path
    assert "cannot end before it begins" in client.get(path).text
    assert one(client, "maria", f"price-lists/{catalogue.euros}")["name"] == "Europe 2028"


def test_product_families_nest_and_a_salesperson_changes_no_catalogue_page(
    client: TestClient, factory: Factory
) -> None:
    catalogue, csrf = manager_with_catalogue(client, factory)
    post(client, "/catalog/families", csrf=csrf, name="Matériel")
    [parent] = api(client, "maria", "product-families")
    post(client, "/catalog/families", csrf=csrf, name="Portables", parent_id=parent["id"])
    page = client.get("/catalog/families").text
    assert "Familles de produits" in page
    assert re.search(r"Portables</td><td>Matériel</td>", page)

    client.cookies.clear()
    make_user(factory, "alice")
    csrf = web_login(client, "alice")
    path = f"/catalog/products/{catalogue.laptop}"
    assert f'action="{path}"' not in client.get(path).text
    fields = {"name": "Mine", "product_number": "LAP-14", "default_unit_id": catalogue.each}
    assert post(client, path, csrf=csrf, **fields) == path
    assert post(client, "/catalog/families", csrf=csrf, name="Mine") == "/catalog/families"
    list_path = f"/catalog/price-lists/{catalogue.euros}"
    assert post(client, list_path, csrf=csrf, name="Mine") == list_path
    assert one(client, "alice", f"products/{catalogue.laptop}")["name"] == "Laptop 14"
    assert len(api(client, "alice", "product-families")) == 2
    assert one(client, "alice", f"price-lists/{catalogue.euros}")["name"] == "Europe 2027"
