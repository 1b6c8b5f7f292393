"""A role made in the privilege grid in headless Chromium (English and French, SQLite and
PostgreSQL), given to a user, opens a record to them."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Live, open_page
from tests.web.support import PASSWORD, make_opportunity, make_user

LABELS = {
    "en": {
        "name": "Name",
        "key": "Key",
        "create": "Create role",
        "cell": "Opportunities Read",
        "depth": "Organization",
        "save": "Save",
    },
    "fr": {
        "name": "Nom",
        "key": "Clé",
        "create": "Créer le rôle",
        "cell": "Opportunités Lire",
        "depth": "Organisation",
        "save": "Enregistrer",
    },
}


def signed_in(browser: Any, live: Live, username: str, language: str) -> Any:
    page = open_page(browser, live, language)
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    return page


def test_create_a_role_in_the_grid_and_see_its_effect(
    browser: Any, live: Live, language: str
) -> None:
    text = LABELS[language]
    make_user(live.factory, f"root-{language}", roles=["system-administrator"])
    make_user(live.factory, f"owner-{language}")
    deal = make_opportunity(live.factory, f"owner-{language}", name=f"Role deal {language}")
    admin = signed_in(browser, live, f"root-{language}", language)
    try:
        admin.goto("/admin/roles")
        admin.get_by_label(text["name"], exact=True).fill(f"Deal readers {language}")
        admin.get_by_label(text["key"], exact=True).fill(f"deal-readers-{language}")
        admin.get_by_role("button", name=text["create"]).click()
        admin.wait_for_url(re.compile(rf"/admin/roles/deal-readers-{language}$"))
        admin.get_by_role("combobox", name=text["cell"], exact=True).select_option(
            label=text["depth"]
        )
        admin.locator("form[action^='/admin/roles/'] button[type=submit]").click()
        admin.wait_for_url(re.compile(rf"/admin/roles/deal-readers-{language}$"))
        assert (
            admin.get_by_role("combobox", name=text["cell"], exact=True).input_value()
            == "organization"
        )
    finally:
        admin.context.close()
    make_user(
        live.factory,
        f"reader-{language}",
        roles=[f"deal-readers-{language}"],
        unit=f"Far {language}",
    )
    reader = signed_in(browser, live, f"reader-{language}", language)
    try:
        assert reader.goto(f"/opportunities/{deal}").status == 200
    finally:
        reader.context.close()
