"""Type-ahead pickers in headless Chromium, in English and French, on SQLite and PostgreSQL:
an account chosen by typing among 10,000 with the keyboard (the ARIA combobox pattern), and the
same choice made without JavaScript through the search-and-choose page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert, select

from oppflow.db import unit_of_work
from oppflow.models import Account, Opportunity, User
from tests.web.conftest import Live, open_page
from tests.web.support import PASSWORD, make_user

ACCOUNTS = 10_000


@pytest.fixture(scope="module")
def alice(live: Live) -> uuid.UUID:
    """Alice, a salesperson, owner of 10,000 accounts bulk-inserted (Core, one statement)."""
    alice_id = make_user(live.factory, "alice")
    with unit_of_work(live.factory) as session:
        unit_id = session.scalar(select(User.business_unit_id).where(User.id == alice_id))
        rows = [
            {
                "id": uuid.uuid4(),
                "name": f"Account {number:05d}",
                "owner_id": alice_id,
                "owning_business_unit_id": unit_id,
            }
            for number in range(ACCOUNTS)
        ]
        session.execute(insert(Account), rows)
    return alice_id


@pytest.fixture
def page(browser: Any, live: Live, alice: uuid.UUID, language: str) -> Iterator[Any]:
    opened = open_page(browser, live, language)
    log_in(opened)
    yield opened
    opened.context.close()


def log_in(page: Any) -> None:
    page.goto("/login")
    page.locator("#username").fill("alice")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def account_of(live: Live, name: str) -> tuple[str | None, uuid.UUID | None]:
    with unit_of_work(live.factory) as session:
        deal = session.scalars(select(Opportunity).where(Opportunity.name == name)).one()
        account = session.get(Account, deal.account_id) if deal.account_id else None
        return (account.name if account else None), deal.account_id


def test_choose_an_account_by_typing_among_ten_thousand(page: Any, live: Live) -> None:
    french = page.evaluate("document.documentElement.lang") == "fr"
    page.goto("/opportunities/new")
    box = page.get_by_role("combobox", name="Compte" if french else "Account")
    assert box.get_attribute("aria-expanded") == "false"
    assert box.get_attribute("placeholder") == (
        "Tapez pour rechercher" if french else "Type to search"
    )
    box.press_sequentially("account 0424")
    options = page.locator("#n-account-list [role=option]")
    # Typing may pause long enough for a search of the first letters: wait for the last one's.
    expect(options).to_have_text([f"Account 0424{digit}" for digit in range(10)])
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    box.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert page.locator(f"#{active}").inner_text() == "Account 04241"
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    box.press("Enter")
    assert box.input_value() == "Account 04241"
    assert box.get_attribute("aria-expanded") == "false"
    topic = f"Typed account {'fr' if french else 'en'}"
    page.locator("#n-name").fill(topic)
    page.locator("form[action='/opportunities/new'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/opportunities/[0-9a-f-]+"))
    assert account_of(live, topic)[0] == "Account 04241"


def test_no_match_is_said_and_escape_keeps_the_choice(page: Any) -> None:
    french = page.evaluate("document.documentElement.lang") == "fr"
    page.goto("/opportunities/new")
    box = page.locator("#n-account")
    box.press_sequentially("account 09999")
    expect(page.locator("#n-account-list [role=option]")).to_have_text(["Account 09999"])
    box.press("ArrowDown")
    box.press("Enter")
    box.fill("")
    box.press_sequentially("nothing like this")
    none = page.locator("#n-account-list .picker-none")
    none.wait_for()
    assert none.inner_text() == ("Aucun résultat" if french else "No match")
    box.press("Escape")
    assert box.input_value() == "Account 09999"
    assert page.locator("input[name=account_id]").input_value() != ""


def test_without_javascript_search_and_choose(browser: Any, live: Live, alice: uuid.UUID) -> None:
    context = browser.new_context(base_url=live.url, java_script_enabled=False, locale="en")
    page = context.new_page()
    try:
        log_in(page)
        page.goto("/opportunities/new")
        page.locator("a.picker-search").first.click()
        page.locator("#lq").fill("Account 0777")
        page.locator("form[role=search] button[type=submit]").click()
        page.get_by_role("link", name="Account 07773").click()
        assert page.locator("#n-account option:checked").inner_text() == "Account 07773"
        page.locator("#n-name").fill("Chosen without scripts")
        page.locator("form[action='/opportunities/new'] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/opportunities/[0-9a-f-]+"))
        assert account_of(live, "Chosen without scripts")[0] == "Account 07773"
    finally:
        context.close()
