"""Time zones in headless Chromium (English and French, SQLite and PostgreSQL): the browser's
zone serves first, then the one chosen on the profile page, and every time shown moves."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from oppflow.db import unit_of_work
from oppflow.models import AuditEntry, StageHistory
from tests.web.conftest import Live
from tests.web.support import PASSWORD, make_opportunity, make_user

MOMENT = datetime(2030, 1, 15, 23, 30, tzinfo=UTC)
SHOWN = {  # 23:30 UTC in New York, then in Tokyo
    "en": ("1/15/30, 6:30\u202fPM", "1/16/30, 8:30\u202fAM"),
    "fr": ("15/01/2030 18:30", "16/01/2030 08:30"),
}


@pytest.fixture(scope="module")
def deal(live: Live) -> Any:
    make_user(live.factory, "zoe", roles=["sales-manager"])
    made = make_opportunity(live.factory, "zoe", name="Across zones")
    with unit_of_work(live.factory) as session:
        session.execute(
            update(StageHistory).where(StageHistory.opportunity_id == made).values(at=MOMENT)
        )
        session.execute(update(AuditEntry).where(AuditEntry.record_id == made).values(at=MOMENT))
    return made


def test_change_the_time_zone_and_every_time_moves(
    browser: Any, live: Live, deal: Any, language: str
) -> None:
    context = browser.new_context(
        base_url=live.url,
        locale=language,
        timezone_id="America/New_York",
        extra_http_headers={"Accept-Language": language},
    )
    page = context.new_page()
    try:
        page.goto("/login")
        page.locator("#username").fill("zoe")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/$"))
        new_york, tokyo = SHOWN[language]
        page.goto(f"/opportunities/{deal}")
        times = page.locator(".timeline time")
        assert set(times.all_inner_texts()) == {new_york}
        page.goto("/profile")
        page.locator("#p-zone").select_option("Asia/Tokyo")
        page.locator("form[action='/profile'] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/profile$"))
        page.goto(f"/opportunities/{deal}")
        assert set(page.locator(".timeline time").all_inner_texts()) == {tokyo}
        page.goto("/profile")
        page.locator("#p-zone").select_option("")
        page.locator("form[action='/profile'] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/profile$"))
    finally:
        context.close()
