"""The quote's PDF, read back with pypdf: its number, every line and the totals, in French and
in English with each language's number, money and date formats; user text printed as typed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.quotes.document import DocumentLine, QuoteDocument, render_pdf
from tests.helpers import signed_in, user_in_unit
from tests.quotes.sample_quote import WRITE_IN, make_quote, pdf_text


def fetch_pdf(client: TestClient, headers: dict[str, str], quote_id: str) -> bytes:
    answer = client.get(f"/api/v1/quotes/{quote_id}/pdf", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    return answer.content


def test_the_french_pdf_has_the_number_every_line_and_the_totals_in_french_formats(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="fr")
    text = pdf_text(fetch_pdf(client, headers, quote["id"]))

    assert quote["quote_number"] in text
    assert "Devis" in text
    assert "Brouillon" in text
    assert "Fabrikam SARL" in text
    assert "Jeanne Dupont" in text
    # 12 × 1 234,50 − 740,70 − 14,30 + 1 000 = 15 059,00; docks 3 × 155; the write-in.
    for line in ("Laptop 14", "12 Each", "1 234,50 €", "755,00 €", "15 059,00 €"):
        assert line in text
    assert "USB-C dock" in text
    assert "465,00 €" in text
    assert WRITE_IN in text
    assert "400,00 €" in text
    # Totals: 15 612,33 of lines before discounts and tax, 755,00 off, 1 066,67 of tax.
    assert Decimal(quote["total_amount"]) == Decimal("15924.00")
    for total in ("Montant total", "15 612,33 €", "15 924,00 €", "1 066,67 €"):
        assert total in text
    assert "Net 30 [days] #strong" in text


def test_the_english_pdf_has_english_formats(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="en")
    text = pdf_text(fetch_pdf(client, headers, quote["id"]))

    assert quote["quote_number"] in text
    assert "Quote" in text
    assert "Draft" in text
    for line in ("Laptop 14", "12 Each", "USB-C dock", WRITE_IN):
        assert line in text
    for amount in ("€1,234.50", "€15,059.00", "€465.00", "€400.00", "€15,924.00", "€1,066.67"):
        assert amount in text
    assert "Detail amount €15,612.33" in text  # the lines before discounts and tax
    assert "Total amount" in text
    assert "Montant" not in text


def test_an_active_quote_is_no_draft_and_carries_its_dates(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="fr")
    path = f"/api/v1/quotes/{quote['id']}"
    assert client.patch(path, json={"effective_to": "2027-01-31"}, headers=headers).is_success
    assert client.post(f"{path}/activate", headers=headers).status_code == 200
    text = pdf_text(fetch_pdf(client, headers, quote["id"]))
    assert "Brouillon" not in text
    assert "31 janvier 2027" in text


def test_another_users_quote_is_not_found(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    owner = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, owner, language="en")
    stranger = user_in_unit(client, factory, "bob", "Elsewhere")
    answer = client.get(f"/api/v1/quotes/{quote['id']}/pdf", headers=stranger)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("currency", "language", "expected"),
    [("JPY", "fr", "1 235 JPY"), ("USD", "en", "$1,234.50"), ("CHF", "fr", "1 234,50 CHF")],
)
def test_amounts_take_the_currencys_decimals(currency: str, language: str, expected: str) -> None:
    amount = Decimal("1234.5") if currency != "JPY" else Decimal("1235")
    zero = Decimal(0)
    line = DocumentLine(1, "Thing", None, Decimal("1"), None, amount, zero, zero, amount)
    document = QuoteDocument(
        language=language,
        quote_number="QUO-000007",
        revision_number=2,
        name="Things",
        is_draft=False,
        issued_on=date(2026, 12, 5),
        currency=currency,
        seller="Contoso",
        prepared_by=None,
        customer=None,
        contact=None,
        effective_from=None,
        effective_to=None,
        lines=(line,),
        total_line_amount=amount,
        total_discount=Decimal(0),
        total_tax=Decimal(0),
        total_amount=amount,
    )
    text = pdf_text(render_pdf(document))
    assert expected in text
    assert "QUO-000007" in text
