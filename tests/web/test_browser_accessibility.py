"""axe-core (the engine axe-playwright-python bundles) in headless Chromium finds no serious or
critical violation on the dashboard, the board, the lists, the opportunity page, the profile,
the pickers' search page and the administration pages, in English and French.

The markup these pages are made of does not depend on the database, so this module serves them
from SQLite only: every page's behaviour on PostgreSQL is checked by the other browser tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine

from tests.conftest import empty_database
from tests.web.conftest import Live, open_page
from tests.web.support import PASSWORD, make_customer, make_opportunity, make_user

axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def module_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with empty_database(request, "sqlite") as made:
        yield made


@pytest.fixture(scope="module")
def deal(live: Live) -> uuid.UUID:
    make_user(live.factory, "root", roles=["system-administrator"])
    account, contact = make_customer(live.factory, "root", "Contoso", "Jane Doe")
    return make_opportunity(
        live.factory, "root", name="Accessible deal", account_id=account, contact_id=contact
    )


def serious_violations(page: Any) -> list[str]:
    results = axe_playwright.Axe().run(page)
    return [
        f"{found['id']} ({found['impact']}): {[node['target'] for node in found['nodes']][:3]}"
        for found in results.response["violations"]
        if found.get("impact") in SERIOUS
    ]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_serious_or_critical_violation(
    browser: Any, live: Live, deal: uuid.UUID, language: str
) -> None:
    page = open_page(browser, live, language)
    try:
        page.goto("/login")
        page.locator("#username").fill("root")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/$"))
        found: dict[str, list[str]] = {}
        for path in (
            "/",
            "/board",
            "/opportunities",
            f"/opportunities/{deal}",
            f"/opportunities/{deal}?tab=sales-team",
            "/opportunities/new",
            "/lookup/account?field=account_id&back=/opportunities/new",
            "/profile",
            "/admin",
            "/admin/roles",
            "/admin/roles/salesperson",
            "/admin/audit",
        ):
            page.goto(path)
            # The dashboard fetches its reports after it loads; the other pages are whole.
            expect(page.locator("[data-fragment]")).to_have_count(0, timeout=30_000)
            violations = serious_violations(page)
            if violations:
                found[path] = violations
        assert found == {}
    finally:
        page.context.close()
