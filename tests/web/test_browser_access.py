"""Share and assign an opportunity in headless Chromium (English and French, SQLite and
PostgreSQL), and see the other user's access change in their own browser."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import Opportunity
from tests.web.conftest import Live, open_page
from tests.web.support import PASSWORD, make_opportunity, make_user

TEXTS = {
    "en": {
        "user": "User",
        "share": "Share",
        "assign_to": "Assign to",
        "assign": "Assign",
        "revoke": "Stop sharing with Erin",
        "owner": "Owner",
    },
    "fr": {
        "user": "Utilisateur",
        "share": "Partager",
        "assign_to": "Attribuer à",
        "assign": "Attribuer",
        "revoke": "Ne plus partager avec Erin",
        "owner": "Propriétaire",
    },
}


@pytest.fixture(scope="module")
def people(live: Live) -> dict[str, uuid.UUID]:
    return {
        "alice": make_user(live.factory, "alice"),
        "erin": make_user(live.factory, "erin", unit="East"),
    }


def signed_in(browser: Any, live: Live, username: str, language: str) -> Any:
    page = open_page(browser, live, language)
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    return page


@pytest.fixture
def pages(
    browser: Any, live: Live, people: dict[str, uuid.UUID], language: str
) -> Iterator[tuple[Any, Any]]:
    alice = signed_in(browser, live, "alice", language)
    erin = signed_in(browser, live, "erin", language)
    yield alice, erin
    alice.context.close()
    erin.context.close()


def pick(box: Any, text: str, name: str) -> None:
    box.fill(text)
    box.page.locator(f"#{box.get_attribute('aria-controls')}").get_by_role(
        "option", name=re.compile("^" + re.escape(name))
    ).first.click()


def test_share_revoke_and_assign_change_the_other_users_access(
    pages: tuple[Any, Any], live: Live, people: dict[str, uuid.UUID], language: str
) -> None:
    alice, erin = pages
    text = TEXTS[language]
    deal = make_opportunity(live.factory, "alice", name=f"Access {language}")
    url = f"/opportunities/{deal}"
    assert erin.goto(url).status == 404
    alice.goto(url)
    panel = alice.locator("#access")
    pick(panel.get_by_role("combobox", name=text["user"], exact=True), "eri", "Erin")
    panel.locator("form[action$='/shares'] button[type=submit]").click()
    alice.wait_for_url(re.compile(r"#access$"))
    assert "Erin" in alice.locator("#access table").inner_text()
    assert erin.goto(url).status == 200
    alice.locator("#access").get_by_role("button", name=text["revoke"]).click()
    alice.wait_for_url(re.compile(r"#access$"))
    assert erin.goto(url).status == 404
    pick(alice.locator("#access").get_by_role("combobox", name=text["assign_to"]), "erin", "Erin")
    alice.locator("#access form[action$='/assign'] button[type=submit]").click()
    alice.wait_for_url(re.compile(r"/opportunities$"))
    assert erin.goto(url).status == 200
    with unit_of_work(live.factory) as session:
        owner = session.scalar(select(Opportunity.owner_id).where(Opportunity.id == deal))
    assert owner == people["erin"]
