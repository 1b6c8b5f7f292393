"""In headless Chromium, in French: a quote created from an opportunity's *Quotes* tab, a line's
quantity changed in its grid, activated on its page and its PDF downloaded; and axe finds no
serious or critical violation on the *Products* and *Quotes* tabs, the quote pages (draft and
active) and the catalogue pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.quotes.sample_quote import make_opportunity, pdf_text
from tests.web.conftest import Live, open_page
from tests.web.support import PASSWORD, make_user

axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def deal(live: Live) -> Iterator[str]:
    """An opportunity with three lines and a draft quote, made through the API by maria
    (sales manager)."""
    make_user(live.factory, "maria", roles=["sales-manager"])
    with httpx.Client(base_url=live.url) as api:
        token = api.post("/api/v1/auth/token", data={"username": "maria", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        opportunity = str(make_opportunity(api, headers)["id"])
        made = api.post(f"/api/v1/opportunities/{opportunity}/quotes", json={}, headers=headers)
        assert made.status_code == 201, made.text
        yield opportunity


def log_in(page: Any) -> None:
    page.goto("/login")
    page.locator("#username").fill("maria")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


LOADED_WIDTH = """image => image.complete ? image.naturalWidth : new Promise(done => {
    image.onload = () => done(image.naturalWidth);
    image.onerror = () => done(0);
})"""


@pytest.mark.speaks("fr")
def test_a_quote_created_activated_and_downloaded_in_french(
    browser: Any, live: Live, deal: str, tmp_path: Path
) -> None:
    page = open_page(browser, live, "fr")
    try:
        log_in(page)
        page.goto(f"/opportunities/{deal}?tab=quotes")
        page.get_by_label("Langue du devis").select_option("fr")
        page.get_by_role("button", name="Créer le devis").click()
        page.wait_for_url(re.compile(r"/quotes/[0-9a-f-]{36}$"))
        assert page.get_by_text("Devis créé.").is_visible()
        number = re.search(r"QUO-\d{6}", page.locator("h1").inner_text())
        assert number is not None
        assert "15 924,00 €" in quote_total(page)

        # 14 laptops instead of 12: 14 × 1 234,50 − 5 % − 14,30 + 1 000 of tax, and the rest.
        page.get_by_label("Quantité, ligne 1", exact=True).fill("14")
        page.get_by_role("button", name="Enregistrer les lignes").click()
        page.get_by_text("Enregistré.").wait_for()
        assert "18 269,55 €" in quote_total(page)

        page.get_by_role("button", name="Activer").click()
        page.get_by_text("Devis activé.").wait_for()
        assert page.get_by_role("button", name="Réviser").is_visible()
        # The preview is typeset when the browser asks for it: wait for it to load (or fail),
        # then check that it is a picture (a broken image has a natural width of 0).
        assert page.locator("img.quote-preview").evaluate(LOADED_WIDTH) > 0

        with page.expect_download() as download:
            page.get_by_role("link", name="Télécharger", exact=True).click()
        target = tmp_path / "devis.pdf"
        download.value.save_as(target)
        text = pdf_text(target.read_bytes())
        assert number.group(0) in text
        assert "18 269,55 €" in text
        assert "Brouillon" not in text
    finally:
        page.context.close()


def quote_total(page: Any) -> str:
    """The grid's last total (the quote's), every run of white space as one space."""
    shown = page.locator("#lines-title ~ * tfoot tr").last.inner_text()
    return re.sub(r"[\s\u00a0\u202f]+", " ", str(shown))


def serious_violations(page: Any) -> list[str]:
    results = axe_playwright.Axe().run(page)
    return [
        f"{found['id']} ({found['impact']}): {[node['target'] for node in found['nodes']][:3]}"
        for found in results.response["violations"]
        if found.get("impact") in SERIOUS
    ]


def links(page: Any, prefix: str) -> list[str]:
    found = page.locator(f"a[href^='{prefix}']").evaluate_all("all => all.map(a => a.pathname)")
    return sorted(set(found))


def test_the_quote_pages_have_no_serious_accessibility_violation(
    browser: Any, live: Live, deal: str, language: str
) -> None:
    page = open_page(browser, live, language)
    try:
        log_in(page)
        found: dict[str, list[str]] = {}
        paths = [f"/opportunities/{deal}?tab=products", f"/opportunities/{deal}?tab=quotes"]
        page.goto(paths[-1])
        paths += links(page, "/quotes/")  # the draft's editable grid, and any active quote
        paths += ["/catalog/products", "/catalog/families", "/catalog/price-lists"]
        page.goto("/catalog/products")
        paths += links(page, "/catalog/products/")[:1]
        page.goto("/catalog/price-lists")
        paths += links(page, "/catalog/price-lists/")[:1]
        for path in paths:
            page.goto(path)
            found[path] = serious_violations(page)
        assert found == {path: [] for path in paths}
    finally:
        page.context.close()
