"""The line under each dashboard chart: the convention its report applied, in plain words.

Built from the answer's ``convention`` (ANALYTICS.md §4), never from what the page asked: the
report says which mode, cohort, period and instant it used, and this says it in the page's
language, with its dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from oppflow.analytics.schemas import Convention
from oppflow.web.i18n import I18n

PERIOD = re.compile(r"^\[(?P<start>[^,\]]+), (?P<end>[^)]+)\)$")


def zone(convention: Convention) -> tzinfo:
    try:
        return ZoneInfo(str(convention.get("time_zone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def instant(text: object, where: tzinfo) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)).astimezone(where)
    except (TypeError, ValueError):
        return None


def days_of(convention: Convention, key: str = "period") -> tuple[date, date] | None:
    """The first and last day of a half-open period ``[start, end)``, in its time zone."""
    found = PERIOD.match(str(convention.get(key) or ""))
    where = zone(convention)
    start = instant(found["start"], where) if found else None
    end = instant(found["end"], where) if found else None
    if start is None or end is None:
        return None
    return start.date(), (end - timedelta(microseconds=1)).date()


def as_of_day(convention: Convention) -> date | None:
    moment = instant(convention.get("as_of"), zone(convention))
    return moment.date() if moment else None


def _when(convention: Convention, i18n: I18n) -> str:
    day = as_of_day(convention)
    return i18n.date(day) if day else "—"


def _period(convention: Convention, i18n: I18n) -> str:
    found = days_of(convention)
    return i18n.date_range(*found) if found else "—"


def snapshot(convention: Convention, i18n: I18n) -> str:
    return i18n.gettext(
        "Open opportunities on %(date)s, by their phase that day; the weighted value uses each "
        "one’s probability, else its stage’s default."
    ) % {"date": _when(convention, i18n)}


def _cohort_subject(convention: Convention, i18n: I18n) -> str:
    if convention.get("cohort") == "entered":
        text = i18n.gettext(
            "Opportunities that first entered the first phase %(period)s, followed to %(date)s."
        )
    else:
        text = i18n.gettext("Opportunities created %(period)s, followed to %(date)s.")
    return text % {"period": _period(convention, i18n), "date": _when(convention, i18n)}


def _reach_rule(convention: Convention, i18n: I18n) -> str:
    if convention.get("mode") == "any":
        return i18n.gettext("A phase counts when it was ever reached.")
    return i18n.gettext("A phase counts only when reached in order.")


def cohort(convention: Convention, i18n: I18n) -> str:
    return f"{_cohort_subject(convention, i18n)} {_reach_rule(convention, i18n)}"


def conversion(convention: Convention, i18n: I18n) -> str:
    rates = i18n.gettext(
        "Next step: the share that went on to the next phase; win rate: won ÷ (won + lost) "
        "among those that reached the phase."
    )
    return f"{cohort(convention, i18n)} {rates}"


def time_in_stage(convention: Convention, i18n: I18n) -> str:
    subject = i18n.gettext(
        "Stays in each stage begun %(period)s, measured to %(date)s; the median counts the "
        "stays still open (Kaplan–Meier)."
    ) % {"period": _period(convention, i18n), "date": _when(convention, i18n)}
    if convention.get("measure") == "latest":
        rule = i18n.gettext("Only the latest stay of each opportunity counts.")
    else:
        rule = i18n.gettext("The stays of one opportunity in a stage add up.")
    return f"{subject} {rule}"


def stale(convention: Convention, i18n: I18n) -> str:
    days = convention.get("default_threshold_days")
    if isinstance(days, int) and days > 0:
        threshold = i18n.gettext("%(days)s unless the stage sets its own") % {
            "days": i18n.days(days)
        }
    else:
        threshold = i18n.gettext("only where the stage sets one")
    return i18n.gettext(
        "Open opportunities on %(date)s that have been in their stage, or idle (no change, "
        "note or file), at least as long as the threshold: %(threshold)s. The most idle first."
    ) % {"date": _when(convention, i18n), "threshold": threshold}


def forecast(convention: Convention, i18n: I18n) -> str:
    subject = i18n.gettext(
        "Open opportunities by estimated close month, won ones by actual close month, on "
        "%(date)s; omitted never counts."
    ) % {"date": _when(convention, i18n)}
    if convention.get("rollup") == "single":
        rollup = i18n.gettext("Each category on its own.")
    else:
        rollup = i18n.gettext("Cumulative: commit includes closed, best case includes commit.")
    weighted = i18n.gettext("Weighted: value × probability, else the stage’s default.")
    return f"{subject} {rollup} {weighted}"


def win_loss(convention: Convention, i18n: I18n) -> str:
    return i18n.gettext(
        "Opportunities closed %(period)s (by actual close date), on %(date)s; sales cycle from "
        "creation to close; velocity = open × mean won value × win rate ÷ median won cycle."
    ) % {"period": _period(convention, i18n), "date": _when(convention, i18n)}


def funnel(convention: Convention, i18n: I18n) -> str:
    """The funnel's line: the snapshot's, or the cohort's when a cohort mode was applied."""
    mode = convention.get("mode")
    return cohort(convention, i18n) if mode in ("ordered", "any") else snapshot(convention, i18n)


LINES: dict[str, Callable[[Convention, I18n], str]] = {
    "funnel": funnel,
    "snapshot": snapshot,
    "cohort": cohort,
    "conversion": conversion,
    "time_in_stage": time_in_stage,
    "stale": stale,
    "forecast": forecast,
    "win_loss": win_loss,
}


def line(report: str, convention: Convention, i18n: I18n) -> str:
    """The convention of ``report`` (a key of :data:`LINES`) as one sentence or two."""
    return LINES[report](convention, i18n)
