"""The French catalog: every message of the web pages is translated, and the compiled ``.mo``
matches the ``.po`` (``make messages`` extracts, updates and compiles them)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from oppflow.web.i18n import I18n, negotiate

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "oppflow" / "locale"
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
    "NP_": ((1, "c"), 2),
}
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def _catalog() -> object:
    with (LOCALE / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po)


def test_every_message_of_the_pages_is_translated() -> None:
    catalog = _catalog()
    extracted = extract_from_dir(
        ROOT / "src" / "oppflow" / "web",
        METHODS,
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS,
    )
    missing = []
    for _file, _line, message, _comments, context in extracted:
        key = message[0] if isinstance(message, tuple) else message
        found = catalog.get(key, context)  # type: ignore[attr-defined]
        strings = found.string if found else None
        if not found or not all(strings if isinstance(strings, tuple) else [strings]):
            missing.append(key)
    assert not missing, f"untranslated (run make messages, then translate): {sorted(set(missing))}"


def test_the_compiled_catalog_is_current() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())  # type: ignore[arg-type]
    shipped = (LOCALE / "fr" / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled.getvalue() == shipped, "messages.mo is stale: run make messages"


def test_choice_then_browser_then_english() -> None:
    assert negotiate("fr", "en-US") == "fr"
    assert negotiate(None, "de-DE,fr;q=0.8,en;q=0.5") == "fr"
    assert negotiate("xx", "de, it;q=0.5") == "en"
    assert negotiate(None, "fr;q=oops, en;q=0.1") == "en"


def test_dates_money_and_days_follow_the_language() -> None:
    french, english = I18n("fr"), I18n("en")
    assert french.money(Decimal("1234567.5"), "EUR") == "1\u202f234\u202f568\u00a0€"
    assert english.money(Decimal("1234567.5"), "USD") == "$1,234,568"
    assert french.date(date(2026, 3, 4)) == "4 mars 2026"
    assert english.date(date(2026, 3, 4)) == "Mar 4, 2026"
    twelve_days_ago = datetime.now(UTC) - timedelta(days=12, hours=1)
    assert french.days_since(twelve_days_ago) == "12 jours"
    assert english.days_since(twelve_days_ago) == "12 days"
    assert french.gettext("Next stage") == "Phase suivante"
    assert french.gettext("Finish") == "Terminé"
    assert french.pgettext("lead", "Qualified") == "Qualifié"
