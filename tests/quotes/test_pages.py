"""The quote pages over HTTP, in English and French: the *Products* grid saved whole (the
calculated revenue follows), the *Quotes* tab, a quote created, activated, revised and won
from its page, its preview and download, and refusals shown as messages that change nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.catalog.catalogue import make_catalogue
from tests.helpers import create, create_opportunity, signed_in
from tests.quotes.sample_quote import make_quote, pdf_text
from tests.web.support import make_user, web_login

Factory = sessionmaker[Session]
H = dict[str, str]


@pytest.fixture
def manager(client: TestClient, factory: Factory) -> tuple[H, str]:
    """A sales manager: API headers, and the web session's CSRF token (French pages)."""
    headers = signed_in(client, factory, "maria", roles=["sales-manager"])
    client.cookies.set("oppflow_lang", "fr")
    return headers, web_login(client, "maria")


def post(client: TestClient, path: str, **form: Any) -> Any:
    answer = client.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer


def api(client: TestClient, headers: H, path: str) -> Any:
    answer = client.get(f"/api/v1/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_products_grid_saves_every_line_and_the_revenue_follows(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    catalogue = make_catalogue(client, headers)
    opportunity = create_opportunity(
        client, headers, currency="EUR", price_list_id=catalogue.euros,
        is_revenue_system_calculated=True,
    )  # fmt: skip
    oid = opportunity["id"]
    page = client.get(f"/opportunities/{oid}?tab=products")
    assert page.status_code == 200
    assert "Laptop 14 (LAP-14)" in page.text
    assert "calculé par le système" in page.text

    post(
        client,
        f"/opportunities/{oid}/lines",
        csrf=csrf,
        version=str(opportunity["version"]),
        product_id=[catalogue.laptop, "", ""],
        write_in_name=["", "Formation", ""],
        quantity=["2", "1", "1"],
        price_per_unit=["", "500", ""],
        manual_discount=["0", "50", "0"],
        tax=["0", "0", "0"],
    )
    lines = api(client, headers, f"opportunities/{oid}/lines")["items"]
    assert [line["write_in_name"] for line in lines] == [None, "Formation"]
    assert Decimal(lines[0]["extended_amount"]) == Decimal("2469.00")
    revenue = api(client, headers, f"opportunities/{oid}")["estimated_value"]
    assert Decimal(revenue) == Decimal("2919.00")
    shown = client.get(f"/opportunities/{oid}?tab=products").text
    assert "2\u202f919,00\xa0€" in shown


def test_a_bad_line_is_a_message_and_changes_nothing(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    catalogue = make_catalogue(client, headers)
    opportunity = create_opportunity(client, headers, currency="EUR", price_list_id=catalogue.euros)
    oid = opportunity["id"]
    answer = post(
        client,
        f"/opportunities/{oid}/lines",
        csrf=csrf,
        product_id=[catalogue.cable],  # only on the dollar price list
        quantity=["-3"],
    )
    assert answer.headers["location"].startswith(f"/opportunities/{oid}?tab=products")
    followed = client.get(answer.headers["location"])
    assert "flash" in followed.text
    assert api(client, headers, f"opportunities/{oid}/lines")["items"] == []


def test_a_quote_from_the_quotes_tab_through_its_lifecycle_on_its_page(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    draft = make_quote(client, headers, language="fr")
    oid = draft["opportunity_id"]
    tab = client.get(f"/opportunities/{oid}?tab=quotes").text
    assert draft["quote_number"] in tab
    assert "Créer le devis" in tab

    created = post(client, f"/opportunities/{oid}/quotes", csrf=csrf, language="en")
    quote_id = created.headers["location"].removeprefix("/quotes/")
    page = client.get(f"/quotes/{quote_id}").text
    assert "15\u202f924,00\xa0€" in page
    assert "Activer" in page

    stale = str(api(client, headers, f"quotes/{quote_id}")["version"] - 1)
    post(client, f"/quotes/{quote_id}/activate", csrf=csrf, version=stale)
    assert api(client, headers, f"quotes/{quote_id}")["state"] == "draft"
    current = str(api(client, headers, f"quotes/{quote_id}")["version"])
    post(client, f"/quotes/{quote_id}/activate", csrf=csrf, version=current)
    assert api(client, headers, f"quotes/{quote_id}")["state"] == "active"
    revised = post(client, f"/quotes/{quote_id}/revise", csrf=csrf)
    new_id = revised.headers["location"].removeprefix("/quotes/")
    assert api(client, headers, f"quotes/{new_id}")["revision_number"] == 1
    post(client, f"/quotes/{new_id}/activate", csrf=csrf)
    post(client, f"/quotes/{new_id}/win", csrf=csrf, close_opportunity="on")
    assert api(client, headers, f"quotes/{new_id}")["state"] == "won"
    won = api(client, headers, f"opportunities/{oid}")
    assert won["state"] == "won"
    assert Decimal(won["actual_value"]) == Decimal("15924.00")


def test_editing_an_active_quote_is_refused_with_a_message(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    quote = make_quote(client, headers, language="fr")
    post(client, f"/quotes/{quote['id']}/activate", csrf=csrf)
    answer = post(client, f"/quotes/{quote['id']}/details", csrf=csrf, name="Autre nom")
    assert answer.headers["location"] == f"/quotes/{quote['id']}"
    assert api(client, headers, f"quotes/{quote['id']}")["name"] == quote["name"]


def test_the_preview_and_the_download_show_the_document(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, _csrf = manager
    quote = make_quote(client, headers, language="fr")
    preview = client.get(f"/quotes/{quote['id']}/preview.png")
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")
    download = client.get(f"/quotes/{quote['id']}/pdf")
    assert download.headers["content-type"] == "application/pdf"
    assert f'filename="{quote["quote_number"]}-0.pdf"' in download.headers["content-disposition"]
    assert "15 924,00 €" in pdf_text(download.content)


def test_sending_without_a_server_is_a_message_and_no_sent_mark(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    quote = make_quote(client, headers, language="fr")
    answer = post(client, f"/quotes/{quote['id']}/send", csrf=csrf)
    assert answer.headers["location"] == f"/quotes/{quote['id']}"
    assert api(client, headers, f"quotes/{quote['id']}")["sent_at"] is None


def test_another_units_user_finds_no_quote_and_changes_none(
    client: TestClient, factory: Factory, manager: tuple[H, str]
) -> None:
    headers, _csrf = manager
    quote = make_quote(client, headers, language="en")
    client.cookies.clear()
    make_user(factory, "bob", unit="Elsewhere")
    csrf = web_login(client, "bob")
    assert client.get(f"/quotes/{quote['id']}").status_code == 404
    assert client.get(f"/quotes/{quote['id']}/preview.png").status_code == 404
    refused = client.post(f"/quotes/{quote['id']}/activate", data={"csrf": csrf})
    assert refused.status_code == 404
    assert api(client, headers, f"quotes/{quote['id']}")["state"] == "draft"


def test_a_drafts_details_and_contact_are_saved_from_its_page(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    quote = make_quote(client, headers, language="fr")
    other = create(client, headers, "contacts", last_name="Martin", email="m@fabrikam.example")
    page = client.get(f"/quotes/{quote['id']}").text
    assert "Jeanne Dupont" in page
    post(
        client, f"/quotes/{quote['id']}/details", csrf=csrf, version=str(quote["version"]),
        name="Devis <révisé>", contact_id=other["id"], language="en",
        effective_to="2027-02-28", terms="",
    )  # fmt: skip
    saved = api(client, headers, f"quotes/{quote['id']}")
    assert (saved["name"], saved["contact_id"], saved["language"]) == (
        "Devis <révisé>",
        other["id"],
        "en",
    )
    assert saved["effective_to"] == "2027-02-28"
    assert "Devis &lt;révisé&gt;" in client.get(f"/quotes/{quote['id']}").text


def test_a_drafts_lines_are_edited_on_its_page_in_the_products_grid(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    quote = make_quote(client, headers, language="fr")
    qid = quote["id"]
    page = client.get(f"/quotes/{qid}").text
    assert f'action="/quotes/{qid}/lines"' in page
    # The selects offer the products of the quote's price list only (the cable is in dollars).
    assert "USB-C dock (DCK-1)" in page
    assert "Cable (CBL-1)" not in page
    lines = api(client, headers, f"quotes/{qid}/lines")["items"]
    laptop, dock = lines[0]["product_id"], lines[1]["product_id"]
    box = make_box_line(client, headers, qid, laptop)

    post(
        client, f"/quotes/{qid}/lines", csrf=csrf, version=str(box["quote_version"]),
        product_id=[laptop, laptop, dock, ""],
        line_product=[laptop, laptop, laptop, ""],  # the third row was a laptop by the box
        unit_id=["", box["unit_id"], box["unit_id"], ""],
        write_in_name=["", "", "", "Formation"],
        quantity=["2", "1", "1", "1"],
        price_per_unit=["", "", "", "500"],
        manual_discount=["0", "0", "0", "50"],
        tax=["0", "0", "0", "0"],
    )  # fmt: skip
    saved = api(client, headers, f"quotes/{qid}/lines")["items"]
    amounts = [Decimal(str(line["extended_amount"])) for line in saved]
    # 2 × 1,234.50; a box of 10 at 11,000 (its unit kept); a dock at 150 % of 100.33 rounded
    # up to 5 (the box unit dropped with the laptop); the write-in 500 − 50.
    assert amounts == [Decimal("2469.00"), Decimal("11000.00"), Decimal("155.00"), Decimal(450)]
    assert Decimal(str(api(client, headers, f"quotes/{qid}")["total_amount"])) == 14074
    assert "14\u202f074,00\xa0€" in client.get(f"/quotes/{qid}").text


def make_box_line(client: TestClient, headers: H, quote_id: str, laptop: str) -> dict[str, str]:
    """A laptop sold by the box of 10 added to the quote through the API: its unit and the
    quote's version after it."""
    units = api(client, headers, "units")["items"]
    box = next(unit["id"] for unit in units if unit["name"] == "Box of 10")
    create(client, headers, f"quotes/{quote_id}/lines", product_id=laptop, unit_id=box, quantity=1)
    return {
        "unit_id": box,
        "quote_version": str(api(client, headers, f"quotes/{quote_id}")["version"]),
    }


def test_an_active_quotes_lines_are_read_only_and_a_stale_grid_is_refused(
    client: TestClient, manager: tuple[H, str]
) -> None:
    headers, csrf = manager
    quote = make_quote(client, headers, language="fr")
    qid = quote["id"]
    before = api(client, headers, f"quotes/{qid}/lines")["items"]
    post(client, f"/quotes/{qid}/activate", csrf=csrf)
    page = client.get(f"/quotes/{qid}").text
    assert f'action="/quotes/{qid}/lines"' not in page
    assert 'name="quantity"' not in page
    assert "Seules les lignes d’un devis en brouillon" in page

    answer = post(
        client, f"/quotes/{qid}/lines", csrf=csrf, write_in_name=["Autre"], quantity=["1"],
        price_per_unit=["1"],
    )  # fmt: skip
    assert answer.headers["location"] == f"/quotes/{qid}#lines-title"
    shown = client.get(answer.headers["location"]).text
    assert "only a draft quote can change" in shown
    assert api(client, headers, f"quotes/{qid}/lines")["items"] == before
