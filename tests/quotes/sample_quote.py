"""A quote with a customer, a contact, catalogue lines and a write-in whose name is typst
markup, made through the API, for the tests of the document, its sending and the pages."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.catalog.catalogue import make_catalogue
from tests.helpers import create, create_opportunity

H = dict[str, str]
WRITE_IN = '#set page(width: 1cm) ] "Installation" $x$ <a> @ref // not a comment'


def make_quote(client: TestClient, headers: H, *, language: str, email: str = "") -> Any:
    """A draft quote in ``language`` of :func:`make_opportunity`'s opportunity."""
    opportunity = make_opportunity(client, headers, email=email)
    return create(
        client,
        headers,
        f"opportunities/{opportunity['id']}/quotes",
        language=language,
        terms="Net 30 [days] #strong",
    )


def make_opportunity(client: httpx.Client, headers: H, *, email: str = "") -> Any:
    """An opportunity for Fabrikam, in euros: 12 laptops (5 % off from 10, 14.30 off by hand,
    1,000 of tax), 3 docks and the write-in at 333.33 + 66.67 of tax (15,924.00 in all)."""
    catalogue = make_catalogue(client, headers)
    account = create(client, headers, "accounts", name="Fabrikam SARL")
    contact = create(
        client,
        headers,
        "contacts",
        first_name="Jeanne",
        last_name="Dupont",
        email=email or "jeanne.dupont@fabrikam.example",
        account_id=account["id"],
    )
    opportunity = create_opportunity(
        client,
        headers,
        currency="EUR",
        price_list_id=catalogue.euros,
        account_id=account["id"],
        contact_id=contact["id"],
    )
    lines = f"opportunities/{opportunity['id']}/lines"
    laptops = {"product_id": catalogue.laptop, "quantity": 12, "manual_discount": 14.3, "tax": 1000}
    write_in = {"write_in_name": WRITE_IN, "quantity": 1, "price_per_unit": 333.33, "tax": 66.67}
    create(client, headers, lines, **laptops)
    create(client, headers, lines, product_id=catalogue.dock, quantity=3)
    create(client, headers, lines, **write_in)
    return opportunity


def pdf_text(pdf: bytes) -> str:
    """The PDF's text on one line: every run of white space (line breaks, narrow and
    no-break spaces) as one space."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)
