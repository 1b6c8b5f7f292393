"""A bulk assign of 50 opportunities in headless Chromium (English and French, SQLite and
PostgreSQL): check them all, choose the new owner by typing, apply."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import Opportunity
from tests.web.conftest import Live, open_page
from tests.web.support import PASSWORD, make_opportunity, make_user

NAMES = {
    "en": ("New owner", "Apply to the chosen ones"),
    "fr": ("Nouveau propriétaire", "Appliquer aux opportunités choisies"),
}


@pytest.fixture(scope="module")
def people(live: Live) -> dict[str, uuid.UUID]:
    return {"alice": make_user(live.factory, "alice"), "bob": make_user(live.factory, "bob")}


def test_a_bulk_assign_of_fifty(
    browser: Any, live: Live, people: dict[str, uuid.UUID], language: str
) -> None:
    ids = [
        make_opportunity(live.factory, "alice", name=f"Bulk {language} {n:02d}") for n in range(50)
    ]
    page = open_page(browser, live, language)
    try:
        page.goto("/login")
        page.locator("#username").fill("alice")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/$"))
        page.goto(f"/opportunities?view=my_open&per_page=50&q=Bulk+{language}")
        assert page.locator("input[name=ids]").count() == 50
        page.locator("input[data-check-all]").check()
        owner_label, apply_label = NAMES[language]
        box = page.get_by_role("combobox", name=owner_label)
        box.fill("bo")
        page.locator("#bk-owner-list").get_by_role("option", name=re.compile("^Bob")).click()
        page.get_by_role("button", name=apply_label).click()
        page.wait_for_url(re.compile(r"/opportunities\?"))
        assert "50" in page.get_by_role("status").first.inner_text()
        with unit_of_work(live.factory) as session:
            found = set(
                session.scalars(select(Opportunity.owner_id).where(Opportunity.id.in_(ids)))
            )
        assert found == {people["bob"]}
    finally:
        page.context.close()
