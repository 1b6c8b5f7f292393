"""The dashboard's report charts (conversion, time in stage, forecast, win/loss, stale), drawn
on the server as SVG geometry in the style of :mod:`oppflow.web.charts`: each builder turns a
report's rows into positions and texts the template writes, escaped. No database here."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from oppflow.analytics.schemas import (
    ConversionRow,
    ForecastRow,
    StaleRow,
    Tally,
    TimeInStageRow,
    WinLossRow,
)
from oppflow.web.i18n import N_, I18n
from oppflow.web.lookups import StageName, choice_label, phase_label, phase_number

# --- Conversion: one column per phase, as tall as the share of the cohort that reached it.

CONVERSION_WIDTH = 640
CONVERSION_TOP = 30
CONVERSION_PLOT = 190
CONVERSION_BOTTOM = 50
STEP_WIDTH = 58


@dataclass(frozen=True)
class ConversionColumn:
    label: str
    number: int
    x: float
    y: float
    width: float
    height: float
    reached: int
    cumulative: str
    win_rate: str
    title: str


@dataclass(frozen=True)
class ConversionStep:
    x: float
    y: float
    rate: str


@dataclass(frozen=True)
class ConversionChart:
    width: int
    height: int
    baseline: float
    columns: list[ConversionColumn]
    steps: list[ConversionStep]


def conversion(rows: list[ConversionRow], i18n: I18n) -> ConversionChart | None:
    """Columns for the phases, and between two columns the next-step rate; None when nobody
    is in the cohort."""
    top = max((row.reached for row in rows), default=0)
    if not top:
        return None
    slot = CONVERSION_WIDTH / len(rows)
    width = min(96.0, slot * 0.5)
    baseline = CONVERSION_TOP + CONVERSION_PLOT
    columns = [
        _conversion_column(row, i18n, slot * index + (slot - width) / 2, width, top)
        for index, row in enumerate(rows)
    ]
    steps = [
        ConversionStep(slot * (index + 1), baseline - 16, i18n.percent(row.next_step_rate))
        for index, row in enumerate(rows[:-1])
    ]
    height = CONVERSION_TOP + CONVERSION_PLOT + CONVERSION_BOTTOM
    return ConversionChart(CONVERSION_WIDTH, height, baseline, columns, steps)


def _conversion_column(
    row: ConversionRow, i18n: I18n, x: float, width: float, top: int
) -> ConversionColumn:
    height = CONVERSION_PLOT * row.reached / top
    if row.reached:
        height = max(height, 3.0)
    label = phase_label(row.pipeline_phase, i18n)
    win = i18n.gettext("win %(rate)s") % {"rate": i18n.percent(row.win_rate)}
    title = i18n.gettext(
        "%(phase)s: %(reached)s reached (%(share)s of the cohort); %(won)s won, %(lost)s lost, "
        "%(open)s open"
    ) % {
        "phase": label,
        "reached": row.reached,
        "share": i18n.percent(row.cumulative_rate),
        "won": row.won,
        "lost": row.lost,
        "open": row.open,
    }
    return ConversionColumn(
        label=label,
        number=phase_number(row.pipeline_phase),
        x=round(x, 1),
        y=round(CONVERSION_TOP + CONVERSION_PLOT - height, 1),
        width=round(width, 1),
        height=round(height, 1),
        reached=row.reached,
        cumulative=i18n.percent(row.cumulative_rate),
        win_rate=win,
        title=title,
    )


# --- Time in stage: one horizontal bar per stage, the median; a tick for the mean.

STAGE_WIDTH = 640
STAGE_LABELS = 118
STAGE_AREA = 230
STAGE_ROW = 42
STAGE_HEADING = 30


@dataclass(frozen=True)
class StageBar:
    label: str
    heading: str  # the process's name, above its first stage, when there are several
    number: int
    y: float
    width: float
    mean_x: float | None
    median: str
    detail: str


@dataclass(frozen=True)
class StageChart:
    width: int
    height: int
    bar_x: int
    text_x: int
    bars: list[StageBar]


def time_in_stage(
    rows: list[TimeInStageRow], names: dict[tuple[str, str], StageName], i18n: I18n
) -> StageChart | None:
    """Bars in process then stage order, under the process's name when there are several."""
    if not rows:
        return None
    known = [names.get((row.process, row.stage)) for row in rows]
    order = sorted(range(len(rows)), key=lambda i: _place(known[i], i))
    several = len({row.process for row in rows}) > 1
    longest = max(
        (float(d) for row in rows for d in (row.median_days, row.mean_completed_days) if d),
        default=0.0,
    )
    scale = STAGE_AREA / (longest or 1.0)
    bars: list[StageBar] = []
    y, previous = 0.0, None
    for i in order:
        heading = ""
        if several and rows[i].process != previous:
            name = known[i]
            heading = name.process if name else rows[i].process
            y += STAGE_HEADING
        bars.append(_stage_bar(rows[i], known[i], heading, y, scale, i18n))
        y, previous = y + STAGE_ROW, rows[i].process
    text_x = STAGE_LABELS + STAGE_AREA + 16
    return StageChart(STAGE_WIDTH, round(y), STAGE_LABELS, text_x, bars)


def _place(name: StageName | None, index: int) -> tuple[int, int]:
    return name.order if name else (1_000, index)


def _stage_bar(
    row: TimeInStageRow,
    name: StageName | None,
    heading: str,
    y: float,
    scale: float,
    i18n: I18n,
) -> StageBar:
    mean = row.mean_completed_days
    detail = " · ".join(
        (
            i18n.gettext("mean %(days)s") % {"days": i18n.days(mean, "short")},
            i18n.ngettext("%(num)d done", "%(num)d done", row.completed) % {"num": row.completed},
            i18n.ngettext("%(num)d open", "%(num)d open", row.still_open) % {"num": row.still_open},
        )
    )
    median = (
        i18n.days(row.median_days)
        if row.median_days is not None
        else i18n.gettext("most still open")
    )
    return StageBar(
        label=name.name if name else row.stage,
        heading=heading,
        number=phase_number(row.pipeline_phase),
        y=y,
        width=round(max(float(row.median_days or 0) * scale, 2.0), 1),
        mean_x=round(STAGE_LABELS + float(mean) * scale, 1) if mean is not None else None,
        median=median,
        detail=detail,
    )


# --- Forecast: stacked columns per close month, a marker for the weighted pipeline.

FORECAST_WIDTH = 1100
FORECAST_LEFT = 96
FORECAST_TOP = 26
FORECAST_PLOT = 220
FORECAST_BOTTOM = 34
FORECAST_MONTHS = 6
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("closed", N_("Closed (won)")),
    ("commit", N_("Commit")),
    ("best_case", N_("Best case")),
    ("pipeline", N_("Pipeline")),
)


@dataclass(frozen=True)
class Segment:
    category: str
    y: float
    height: float
    text: str  # "Commit: $120,000"
    title: str  # with the column's label


@dataclass(frozen=True)
class ForecastColumn:
    label: str
    x: float
    width: float
    segments: list[Segment]
    total: str
    total_y: float
    weighted_y: float | None
    weighted: str
    special: bool  # overdue or without a date


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class ForecastChart:
    width: int
    height: int
    left: int
    right: int
    baseline: float
    columns: list[ForecastColumn]
    ticks: list[Tick]
    legend: list[tuple[str, str]]


@dataclass(frozen=True)
class Bucket:
    label: str
    amounts: dict[str, Decimal]
    weighted: Decimal
    special: bool = False


def forecast_buckets(rows: list[ForecastRow], today: date, i18n: I18n) -> list[Bucket]:
    """Overdue (open, closing before this month), the next six months, and no date: each one
    of the ``single`` rollup's categories, so the columns stack."""
    by_month = {row.month: row for row in rows}
    current = today.strftime("%Y-%m")
    overdue = [row for row in rows if row.month < current]
    buckets = []
    if any(_open_total(row) for row in overdue):
        amounts = {
            key: sum((_amount(r, key) for r in overdue), Decimal(0)) for key, _ in CATEGORIES
        }
        amounts["closed"] = Decimal(0)  # won in an earlier month is history, not forecast
        weighted = sum((Decimal(r.weighted_pipeline) for r in overdue), Decimal(0))
        buckets.append(Bucket(i18n.gettext("Overdue"), amounts, weighted, special=True))
    for month in _next_months(today, FORECAST_MONTHS):
        row = by_month.get(month.strftime("%Y-%m"))
        amounts = {key: _amount(row, key) if row else Decimal(0) for key, _ in CATEGORIES}
        weighted = Decimal(row.weighted_pipeline) if row else Decimal(0)
        buckets.append(Bucket(i18n.month(month), amounts, weighted))
    undated = by_month.get("none")
    if undated is not None and _open_total(undated):
        amounts = {key: _amount(undated, key) for key, _ in CATEGORIES}
        weighted = Decimal(undated.weighted_pipeline)
        buckets.append(Bucket(i18n.gettext("No date"), amounts, weighted, special=True))
    return buckets


def _amount(row: ForecastRow, key: str) -> Decimal:
    return Decimal(getattr(row, key))


def _open_total(row: ForecastRow) -> Decimal:
    return sum((_amount(row, key) for key in ("commit", "best_case", "pipeline")), Decimal(0))


def _next_months(today: date, count: int) -> list[date]:
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def forecast(buckets: list[Bucket], i18n: I18n) -> ForecastChart | None:
    """The columns, a scale of round amounts, and the legend; None when nothing is due."""
    totals = [sum(b.amounts.values(), Decimal(0)) for b in buckets]
    highest = max([*totals, *(b.weighted for b in buckets)], default=Decimal(0))
    if not highest:
        return None
    step = nice_step(float(highest))
    ceiling = step * math.ceil(float(highest) / step)
    slot = (FORECAST_WIDTH - FORECAST_LEFT) / len(buckets)
    columns = [
        _forecast_column(bucket, i18n, FORECAST_LEFT + slot * index, slot, ceiling)
        for index, bucket in enumerate(buckets)
    ]
    baseline = FORECAST_TOP + FORECAST_PLOT
    ticks = [
        Tick(round(baseline - FORECAST_PLOT * value / ceiling, 1), i18n.short_money(value))
        for value in _tick_values(step, ceiling)
    ]
    legend = [(key, i18n.gettext(label)) for key, label in CATEGORIES]
    height = FORECAST_TOP + FORECAST_PLOT + FORECAST_BOTTOM
    return ForecastChart(
        FORECAST_WIDTH, height, FORECAST_LEFT, FORECAST_WIDTH, baseline, columns, ticks, legend
    )


def nice_step(highest: float, lines: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``lines`` gridlines."""
    rough = highest / lines
    power = 10 ** math.floor(math.log10(rough))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough))


def _tick_values(step: float, ceiling: float) -> list[float]:
    return [step * index for index in range(round(ceiling / step) + 1)]


def _forecast_column(
    bucket: Bucket, i18n: I18n, x: float, slot: float, ceiling: float
) -> ForecastColumn:
    width = min(64.0, slot * 0.56)
    baseline = FORECAST_TOP + FORECAST_PLOT
    bottom, segments = float(baseline), []
    for key, label in CATEGORIES:
        amount = bucket.amounts[key]
        if amount <= 0:
            continue
        height = FORECAST_PLOT * float(amount) / ceiling
        bottom -= height
        text = i18n.labelled(i18n.gettext(label), i18n.money(amount))
        segments.append(
            Segment(key, round(bottom, 1), round(height, 1), text, f"{bucket.label} · {text}")
        )
    total = sum(bucket.amounts.values(), Decimal(0))
    weighted_y = baseline - FORECAST_PLOT * float(bucket.weighted) / ceiling
    return ForecastColumn(
        label=bucket.label,
        x=round(x + (slot - width) / 2, 1),
        width=round(width, 1),
        segments=segments,
        total=i18n.short_money(total) if total else "",
        total_y=round(bottom - 7, 1),
        weighted_y=round(weighted_y, 1) if bucket.weighted else None,
        weighted=i18n.money(bucket.weighted),
        special=bucket.special,
    )


# --- Win/loss: two bars split won | lost, by count and by value.

WIN_WIDTH = 640
WIN_LABELS = 110
WIN_AREA = 420
WIN_ROW = 36
WIN_GAP = 16


@dataclass(frozen=True)
class SplitBar:
    label: str
    y: float
    won_width: float
    won: str
    lost: str
    rate: str


@dataclass(frozen=True)
class WinLossChart:
    width: int
    height: int
    bar_x: int
    area: int
    rate_x: int
    bars: list[SplitBar]


def win_loss(row: WinLossRow, i18n: I18n) -> WinLossChart | None:
    """By count and by value; None when nothing closed in the period."""
    if not row.won + row.lost:
        return None
    won_value, lost_value = Decimal(row.won_value), Decimal(row.lost_value)
    value_share = float(won_value / (won_value + lost_value)) if won_value + lost_value else 0.0
    bars = [
        _split(
            i18n.gettext("By count"),
            0,
            row.won / (row.won + row.lost),
            (i18n.ngettext("%(num)d won", "%(num)d won", row.won) % {"num": row.won}, row.won > 0),
            (
                i18n.ngettext("%(num)d lost", "%(num)d lost", row.lost) % {"num": row.lost},
                row.lost > 0,
            ),
            i18n.percent(row.win_rate),
        ),
        _split(
            i18n.gettext("By value"),
            WIN_ROW + WIN_GAP,
            value_share,
            (i18n.short_money(won_value), won_value > 0),
            (i18n.short_money(lost_value), lost_value > 0),
            i18n.percent(row.win_rate_by_value),
        ),
    ]
    rate_x = WIN_LABELS + WIN_AREA + 14
    return WinLossChart(WIN_WIDTH, 2 * WIN_ROW + WIN_GAP, WIN_LABELS, WIN_AREA, rate_x, bars)


def _split(
    label: str, y: float, share: float, won: tuple[str, bool], lost: tuple[str, bool], rate: str
) -> SplitBar:
    return SplitBar(
        label=label,
        y=y,
        won_width=round(WIN_AREA * share, 1),
        won=won[0] if won[1] else "",
        lost=lost[0] if lost[1] else "",
        rate=rate,
    )


@dataclass(frozen=True)
class Ranked:
    label: str
    count: int
    share: float  # 0–100, of the most frequent


def top_tallies(tallies: list[Tally], i18n: I18n, *, limit: int = 3) -> list[Ranked]:
    """The most frequent loss reasons (or competitors), labelled, the largest first."""
    ranked = sorted(tallies, key=lambda tally: (-tally.count, tally.key))[:limit]
    most = ranked[0].count if ranked else 1
    return [
        Ranked(choice_label(t.key, i18n), t.count, round(100 * t.count / most, 1)) for t in ranked
    ]


# --- Stale: how many of the open opportunities are stale, and the most idle ones.


@dataclass(frozen=True)
class StaleShare:
    stale: int
    open: int
    width: float  # 0–100


def stale_share(total: int, open_count: int) -> StaleShare:
    whole = max(open_count, total)
    return StaleShare(total, whole, round(100 * total / whole, 1) if whole else 0.0)


@dataclass(frozen=True)
class StaleLine:
    row: StaleRow
    stage: str
    owner: str


def stale_lines(
    rows: list[StaleRow],
    names: dict[tuple[str, str], StageName],
    owners: dict[uuid.UUID, str],
    *,
    limit: int = 5,
) -> list[StaleLine]:
    """The first ``limit`` rows (the most idle), with their stage's and owner's names."""
    found = []
    for row in rows[:limit]:
        name = names.get((row.process or "", row.stage or ""))
        stage = name.name if name else row.stage or "—"
        found.append(StaleLine(row, stage, owners.get(row.owner_id, "")))
    return found
