"""The dashboard's charts in headless Chromium, in English and French, on SQLite and PostgreSQL:
every report card draws a visible SVG with its convention under it, and the funnel switches to
the cohort. Screenshots of each page go to the test's temporary directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Live, open_page
from tests.web.pipeline import (
    ALICE_DEALS,
    BOB_DEALS,
    REPORTS,
    expected_convention,
    make_pipeline,
)
from tests.web.support import PASSWORD, make_user

LANGUAGES = {"en": ("en", "Cohort, last 90 days"), "fr": ("fr-FR", "Cohorte, 90 derniers jours")}


@pytest.fixture(scope="module")
def pipeline(live: Live) -> None:
    """Maya (sales manager) sees the pipelines of Alice and Bob: moved, won, lost, stale."""
    for name in ("alice", "bob"):
        make_user(live.factory, name)
    make_user(live.factory, "maya", roles=["sales-manager"])
    make_pipeline(live.factory, "alice", ALICE_DEALS)
    make_pipeline(live.factory, "bob", BOB_DEALS)


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def convention_of(page: Any, report: str) -> str:
    return str(page.locator(f"[data-report='{report}'] .convention").inner_text())


@pytest.mark.usefixtures("pipeline")
def test_the_dashboard_draws_every_report(
    browser: Any, live: Live, language: str, tmp_path: Path
) -> None:
    locale, cohort_link = LANGUAGES[language]
    page = open_page(browser, live, locale)
    try:
        log_in(page, "maya")
        # The reports read from the change log arrive after the page, each in its place.
        from playwright.sync_api import expect

        expect(page.locator("[data-fragment]")).to_have_count(0, timeout=30_000)
        assert page.locator("[aria-busy='true']").count() == 0
        for report in REPORTS:
            chart = page.locator(f"[data-report='{report}'] svg[role='img']").first
            assert chart.is_visible(), report
            box = chart.bounding_box()
            assert box["width"] > 100, (report, box)
            assert box["height"] > 5, (report, box)
            assert convention_of(page, report).startswith(expected_convention(language, report))
        assert page.locator("[data-report='forecast'] rect.seg-commit").count() >= 1
        assert page.locator("[data-report='conversion'] .step-pill").count() == 3
        page.screenshot(path=str(tmp_path / f"dashboard-{language}.png"), full_page=True)

        page.get_by_role("link", name=cohort_link).click()
        page.wait_for_url(re.compile(r"funnel=cohort"))
        current = page.locator("[data-report='funnel'] a[aria-current='page']")
        assert current.inner_text() == cohort_link
        assert page.locator("[data-report='funnel'] svg[role='img']").is_visible()
        assert convention_of(page, "funnel") == expected_convention(language, "cohort")
        page.locator("[data-report='funnel']").screenshot(
            path=str(tmp_path / f"cohort-funnel-{language}.png")
        )
    finally:
        page.context.close()
