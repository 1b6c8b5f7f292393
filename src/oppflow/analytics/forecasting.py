"""The forecast by close month and category, and the waterfall of a close period."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from oppflow.analytics.defaults import Defaults
from oppflow.analytics.funnels import CENT
from oppflow.analytics.options import Period, iso_days
from oppflow.analytics.schemas import ForecastRow, WaterfallRow
from oppflow.analytics.scope import Scope
from oppflow.analytics.timeline import State, decode
from oppflow.analytics.totals import FORECAST, Contribution

# Which categories each column sums, by rollup (ANALYTICS.md §2; omitted never counts).
ROLLUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "cumulative": {
        "closed": ("won",),
        "commit": ("committed", "won"),
        "best_case": ("best_case", "committed", "won"),
        "pipeline": ("pipeline", "best_case", "committed"),
    },
    "single": {
        "closed": ("won",),
        "commit": ("committed",),
        "best_case": ("best_case",),
        "pipeline": ("pipeline",),
    },
}
NO_DATE = "none"
# A span's close day read as its month ("YYYY-MM"), by ``HistoryRepository.spans_at``: the
# forecast counts by month, so the spans of one month's days are alike. The estimated close
# when open, the actual when won.
CLOSE_MONTH = "close_month"
# The fields the forecast as of an instant reads of the open and of the won spans: their
# close day as its month (``HistoryRepository.spans_at``).
FORECAST_OPEN_FIELDS = (
    "state", CLOSE_MONTH, "forecast_category", "probability", "process_key", "active_stage",
)  # fmt: skip
FORECAST_WON_FIELDS = ("state", CLOSE_MONTH)
# The fields the waterfall reads (its stream holds only their rows).
WATERFALL_FIELDS = ("state", "estimated_close_date", "estimated_value")


@dataclass
class Month:
    count: int = 0
    by_category: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    weighted: Decimal = Decimal(0)


def forecast(
    states: Iterable[tuple[State, int, Decimal]], scope: Scope, *, rollup: str
) -> list[ForecastRow]:
    """Open opportunities by estimated close month and won ones by actual close month, per
    forecast category, as of ``as_of``; lost ones never count. ``states`` are the open and
    won states then with their close month (:data:`CLOSE_MONTH`), those of the period asked
    only, alike ones counted together with their values summed (a won deal's actual value,
    else its estimate: ``HistoryRepository.spans_at``)."""
    months: dict[str, Month] = defaultdict(Month)
    for state, count, value in states:
        if not scope.admits(state) or state["state"] not in ("open", "won"):
            continue
        won = state["state"] == "won"
        month = months[state[CLOSE_MONTH] or NO_DATE]
        category = "won" if won else state["forecast_category"] or "pipeline"
        month.count += count
        month.by_category[category] += value
        if not won and category != "omitted":
            month.weighted += value * scope.defaults.probability(state) / 100
    return [_forecast_row(key, months[key], rollup) for key in sorted(months)]


def forecast_of_totals(
    parts: Iterable[Contribution], defaults: Defaults, *, rollup: str
) -> list[ForecastRow]:
    """The forecast of now from the maintained totals: the same rows as :func:`forecast`
    over the timelines at this instant."""
    months: dict[str, Month] = defaultdict(Month)
    for part in parts:
        category, key = part.field(FORECAST, "forecast_category"), part.field(FORECAST, "month")
        month = months[key]
        month.count += part.count
        month.by_category[category] += part.value
        if category not in ("won", "omitted"):
            month.weighted += defaults.weighted_total(part)
    return [_forecast_row(key, months[key], rollup) for key in sorted(months) if months[key].count]


def _forecast_row(key: str, month: Month, rollup: str) -> ForecastRow:
    columns = {
        column: sum((month.by_category[c] for c in categories), Decimal(0)).quantize(CENT)
        for column, categories in ROLLUPS[rollup].items()
    }
    return ForecastRow(
        month=key,
        count=month.count,
        omitted=month.by_category["omitted"].quantize(CENT),
        weighted_pipeline=month.weighted.quantize(CENT),
        **columns,
    )


WATERFALL_LINES = (
    "beginning", "new", "increased", "decreased", "pulled_out", "pushed_out", "won", "lost",
    "ending",
)  # fmt: skip
# A candidate's fields at one instant as the spans keep them (texts, in the order of the
# fields read; all None when it did not exist then).
Texts = Sequence[str | None]


@dataclass
class Line:
    """A waterfall line's opportunities, their values kept as the spans give them (texts, or
    a change made Decimal) and summed once at the end: a Decimal made and added per
    candidate was about a quarter of the loop's time (cProfile)."""

    count: int = 0
    values: list[str | Decimal | None] = field(default_factory=list)
    ids: list[uuid.UUID] = field(default_factory=list)

    def add(self, opportunity_id: uuid.UUID | None, value: str | Decimal | None) -> None:
        self.count += 1
        self.values.append(value)
        if opportunity_id is not None:  # read only when the details are asked
            self.ids.append(opportunity_id)

    def value(self) -> Decimal:
        return sum((Decimal(value) for value in self.values if value), Decimal(0)).quantize(CENT)


def waterfall(
    states: Iterable[tuple[uuid.UUID | None, Texts, Texts]],
    names: Sequence[str],
    scope: Scope,
    close: Period,
    *,
    details: bool,
) -> list[WaterfallRow]:
    """Beginning + new + increased − decreased − pulled out − pushed out − won − lost = ending,
    for the close period ``close`` between the start and ``as_of``: each opportunity is
    compared at the two instants (its ``names`` at each, as ``Timeline.state_at`` gives
    them), so the identity holds exactly. The filters apply to its state at ``as_of``. Read
    from the texts: a state decoded per candidate was a third of its time at 100,000."""
    read = _Reader(names, close)
    lines = {name: Line() for name in WATERFALL_LINES}
    state, day, first, after = read.state, read.day, read.first, read.after
    filtered = not scope.filters_nothing()
    for opportunity_id, at_start, at_end in states:
        # Open with its close day in the period, at each instant; inlined: a method call
        # per instant was a seventh of the loop's time (cProfile).
        start_day, end_day = at_start[day], at_end[day]
        was_in = at_start[state] == "open" and start_day is not None and first <= start_day < after
        is_in = at_end[state] == "open" and end_day is not None and first <= end_day < after
        if not (was_in or is_in) or (filtered and not read.admits(scope, at_end)):
            continue
        _classify(lines, opportunity_id, read, at_start if was_in else None, at_end, is_in)
    return [
        WaterfallRow(
            line=name,
            count=line.count,
            value=line.value(),
            opportunity_ids=line.ids if details else None,
        )
        for name, line in lines.items()
    ]


class _Reader:
    """What the waterfall asks of a candidate's texts at one instant."""

    def __init__(self, names: Sequence[str], close: Period) -> None:
        self.names = list(names)
        self.state, self.day, self.value = (self.names.index(name) for name in WATERFALL_FIELDS)
        # ISO days sort as text; the days of the report's time zone.
        self.first, self.after = iso_days(close.days())

    def admits(self, scope: Scope, texts: Texts) -> bool:
        return scope.admits(
            State({n: decode(n, t) for n, t in zip(self.names, texts, strict=True)})
        )

    def left_by(self, texts: Texts) -> str:
        """Why an opportunity in the period at the start is not in it at the end."""
        if texts[self.state] in ("won", "lost"):
            return str(texts[self.state])
        day = texts[self.day]
        return "pulled_out" if day is not None and day < self.first else "pushed_out"


def _classify(
    lines: dict[str, Line],
    opportunity_id: uuid.UUID | None,
    read: _Reader,
    before: Texts | None,
    at_end: Texts,
    after: bool,
) -> None:
    end = at_end[read.value]
    if after:
        lines["ending"].add(opportunity_id, end)
    if before is None:
        lines["new"].add(opportunity_id, end)
        return
    start = before[read.value]
    lines["beginning"].add(opportunity_id, start)
    if not after:
        lines[read.left_by(at_end)].add(opportunity_id, start)
    elif end != start:  # the same text is the same value
        change = Decimal(end or 0) - Decimal(start or 0)
        if change:
            lines["increased" if change > 0 else "decreased"].add(opportunity_id, abs(change))
