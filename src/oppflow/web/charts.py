"""Charts drawn on the server as SVG geometry (the template writes the elements, escaped)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oppflow.analytics.schemas import FunnelPhase
from oppflow.web.i18n import I18n
from oppflow.web.lookups import phase_label, phase_number

WIDTH = 640
LABELS = 120
VALUES = 175
ROW = 54
GAP = 8
MIN_SHARE = 0.12


@dataclass(frozen=True)
class FunnelRow:
    phase: str
    label: str
    count: int
    value: str
    points: str
    text_y: float
    number: int
    primary: str  # the bold line beside the trapezoid: what its width measures
    secondary: str


@dataclass(frozen=True)
class FunnelChart:
    width: int
    height: int
    rows: list[FunnelRow]
    label_x: int
    value_x: int


def funnel(phases: list[FunnelPhase], i18n: I18n, *, by_count: bool = False) -> FunnelChart:
    """A funnel: one trapezoid per phase, as wide as its estimated value (or, for a cohort,
    its count) allows."""
    ordered = sorted(
        phases, key=lambda phase: (phase_number(phase.pipeline_phase), phase.pipeline_phase)
    )
    sizes = [Decimal(p.count) if by_count else Decimal(p.estimated_value) for p in ordered]
    area = WIDTH - LABELS - VALUES
    top = max(sizes, default=Decimal(0)) or Decimal(1)
    widths = [area * max(MIN_SHARE, float(size / top)) for size in sizes]
    rows = []
    for index, phase in enumerate(ordered):
        upper = widths[index]
        lower = widths[index + 1] if index + 1 < len(widths) else upper * 0.8
        y = index * (ROW + GAP)
        rows.append(
            _funnel_row(
                phase, i18n, by_count, y, _trapezoid(LABELS + area / 2, y, upper, min(upper, lower))
            )
        )
    height = max(ROW, len(rows) * (ROW + GAP) - GAP)
    return FunnelChart(WIDTH, height, rows, LABELS - 14, WIDTH - VALUES + 14)


def _funnel_row(phase: FunnelPhase, i18n: I18n, by_count: bool, y: float, points: str) -> FunnelRow:
    value = i18n.money(phase.estimated_value)
    count = i18n.ngettext("%(num)d opportunity", "%(num)d opportunities", phase.count) % {
        "num": phase.count
    }
    return FunnelRow(
        phase=phase.pipeline_phase,
        label=phase_label(phase.pipeline_phase, i18n),
        count=phase.count,
        value=value,
        points=points,
        text_y=y + ROW / 2,
        number=phase_number(phase.pipeline_phase),
        primary=count if by_count else value,
        secondary=value if by_count else count,
    )


def _trapezoid(center: float, y: float, upper: float, lower: float) -> str:
    corners = [
        (center - upper / 2, y),
        (center + upper / 2, y),
        (center + lower / 2, y + ROW),
        (center - lower / 2, y + ROW),
    ]
    return " ".join(f"{x:.1f},{py:.1f}" for x, py in corners)


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    value: str
    share: float  # 0–100, of the largest bar


def bars(rows: list[tuple[str, int, Decimal]], i18n: I18n) -> list[Bar]:
    """Horizontal bars: (label, count, value) scaled to the largest value."""
    top = max((value for _, _, value in rows), default=Decimal(0)) or Decimal(1)
    return [
        Bar(label, count, i18n.money(value), round(float(value / top) * 100, 1))
        for label, count, value in rows
    ]
