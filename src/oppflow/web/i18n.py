"""Languages of the web pages: gettext catalogs (Babel), the user's choice, and formats.

English is the source language; French comes from ``oppflow/locale/fr/LC_MESSAGES``. Process,
stage and step labels are not here: they come from the process definitions' own ``en``/``fr``.
"""

from __future__ import annotations

import gettext as gettext_module
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval, format_timedelta
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
)
from babel.support import Translations
from babel.units import format_unit

from oppflow.clock import utcnow

Day = date  # inside I18n, ``date`` names the method
DayLength = Literal["short", "long", "narrow"]
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "oppflow_lang"
# Set by app.js from the browser's Intl time zone; used until the user chooses one.
TIME_ZONE_COOKIE = "oppflow_tz"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def N_(message: str) -> str:  # noqa: N802 - the usual name of the gettext no-op marker
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def NP_(context: str, message: str) -> str:  # noqa: N802 - the marker with a context
    """Mark a message with a context (``pgettext``) for extraction."""
    return message


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalog of ``language`` (English needs none)."""
    if language == DEFAULT_LANGUAGE:
        return gettext_module.NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The user's saved choice, else the first supported language the browser asks for."""
    if cookie in LANGUAGES:
        return cookie
    for language, _quality in _accepted(accept_language or ""):
        primary = language.split("-")[0].strip().lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def _accepted(header: str) -> list[tuple[str, float]]:
    """``Accept-Language`` entries, most wanted first (RFC 9110 quality values)."""
    entries: list[tuple[str, float]] = []
    for part in header.split(",")[:20]:
        language, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if language:
            entries.append((language, quality))
    return sorted(entries, key=lambda entry: -entry[1])


@dataclass(frozen=True)
class I18n:
    """Messages and formats in one language, times in one time zone; templates reach it as
    ``i18n``."""

    language: str
    time_zone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        return translations(self.language).pgettext(context, message)

    def ngettext(self, singular: str, plural: str, number: int) -> str:
        return translations(self.language).ngettext(singular, plural, number)

    def labelled(self, label: object, value: object) -> str:
        """ "Commit: $48,000"; in French a space goes before the colon ("Engagé : …")."""
        return self.gettext("%(label)s: %(value)s") % {"label": label, "value": value}

    def date(self, value: date | datetime | None, style: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, style, locale=self.language)

    def timestamp(self, value: datetime | None) -> str:
        """A moment in the reader's time zone ("12/5/26, 4:48 PM")."""
        if value is None:
            return ""
        return format_datetime(value, "short", tzinfo=self.zone, locale=self.language)

    def relative(self, value: datetime | None) -> str:
        """How long ago (or ahead) a moment is: "3 days ago", "il y a 3 jours"."""
        if value is None:
            return ""
        delta = value - utcnow()
        if abs(delta.total_seconds()) < 60:
            return self.gettext("just now")
        return format_timedelta(delta, add_direction=True, locale=self.language)

    def money(self, value: Decimal | float | int | None, currency: str = "USD") -> str:
        """An amount without cents (deals are counted in whole units)."""
        if value is None:
            return ""
        pattern = self.locale.currency_formats["standard"].pattern.replace(".00", "")
        return format_currency(
            value, currency, format=pattern, locale=self.language, currency_digits=False
        )

    def number(self, value: Decimal | float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.language)

    def short_money(self, value: Decimal | float | int | None, currency: str = "USD") -> str:
        """An amount for a chart's axis or bar: "$1.2M", "1,2 M $US"."""
        if value is None:
            return ""
        return format_compact_currency(value, currency, locale=self.language, fraction_digits=1)

    def percent(self, ratio: float | Decimal | None) -> str:
        """A ratio as a whole percentage ("49 %" in French); "—" when there is none."""
        return "—" if ratio is None else format_percent(ratio, locale=self.language)

    def days(self, value: float | Decimal | None, length: DayLength = "long") -> str:
        """A number of days, to a tenth below ten ("4.5 days", "26 jours"; short: "26 j");
        "—" for none. CLDR knows each language's plural (1,5 jour, 1.5 days)."""
        if value is None:
            return "—"
        shown = round(float(value), 1) if float(value) < 10 else round(float(value))
        return format_unit(shown, "duration-day", length=length, locale=self.language)

    def month(self, value: Day) -> str:
        """A month and its year: "Dec 2026", "déc. 2026"."""
        return format_date(value, "MMM y", locale=self.language)

    def date_range(self, start: Day, end: Day) -> str:
        """Two days, both included: "Sep 6 – Dec 5, 2026", "6 sept. – 5 déc. 2026"."""
        if start == end:
            return self.date(start)
        return format_interval(start, end, "yMMMd", locale=self.language)

    def days_since(self, moment: datetime | None) -> str:
        """How long ago ``moment`` was, in whole days ("12 days", "12 jours")."""
        if moment is None:
            return ""
        days = max(0, (utcnow() - moment).days)
        if days == 0:
            return self.gettext("today")
        return self.ngettext("%(num)d day", "%(num)d days", days) % {"num": days}
