"""What the dashboard shows: today's totals and funnel (or a cohort's), the pipeline by owner,
and the reports of ANALYTICS.md §4 as charts, each with its convention in a line. Every number
comes from the analytics service, with the page's filters (owner, unit, process).

The page itself shows only what the maintained totals answer at once (the funnel of now, the
forecast, the pipeline by owner). The reports folded from the change log (:data:`PARTS`) take
seconds at a million opportunities, so the page leaves a placeholder for each, which its script
replaces with the card fetched from ``/dashboard/<part>`` (a page of its own without scripts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from oppflow.analytics import service as analytics
from oppflow.analytics.options import (
    ConversionOptions,
    ForecastOptions,
    FunnelOptions,
    ProcessKeyText,
    ReportFilters,
    TimeInStageOptions,
)
from oppflow.analytics.schemas import FunnelFilters, FunnelPhase, OpportunitySearch
from oppflow.clock import today
from oppflow.web import charts, conventions, lookups, report_charts
from oppflow.web.context import Page
from oppflow.web.i18n import N_
from oppflow.web.listing import url_builder

# Each report read from the change log: its address, its card's template and its title.
PARTS: dict[str, tuple[str, str]] = {
    "conversion": ("_dashboard_conversion.html", N_("Conversion")),
    "win-loss": ("_dashboard_win_loss.html", N_("Win/loss")),
    "time-in-stage": ("_dashboard_stages.html", N_("Time in stage")),
    "stale": ("_dashboard_stale.html", N_("Stale opportunities")),
}

FunnelMode = Literal["snapshot", "cohort"]


class DashboardQuery(BaseModel):
    """The dashboard's address: its filters, and which funnel to show."""

    owner_id: uuid.UUID | None = None
    business_unit_id: uuid.UUID | None = None
    process_key: ProcessKeyText | None = None
    funnel: FunnelMode = "snapshot"

    def funnel_filters(self) -> FunnelFilters:
        return FunnelFilters(
            owner_id=self.owner_id,
            business_unit_id=self.business_unit_id,
            process_key=self.process_key,
        )

    def report_filters(self) -> dict[str, Any]:
        """The filters every report takes (``process`` is the process key)."""
        return {
            "owner_id": self.owner_id,
            "business_unit_id": self.business_unit_id,
            "process": self.process_key,
        }


@dataclass(frozen=True)
class Chart:
    """A chart (None when there is nothing to draw) and the line stating its convention."""

    chart: Any
    convention: str


def context(page: Page, query: DashboardQuery) -> dict[str, Any]:
    """Everything ``dashboard.html`` shows."""
    snapshot = analytics.funnel_report(
        page.session, actor=page.actor, options=FunnelOptions.model_validate(query.report_filters())
    )
    totals = _totals(snapshot.phases)
    mine, _ = analytics.search_opportunities(
        page.session, actor=page.actor, search=OpportunitySearch(view="my_open", per_page=8)
    )
    filters = query.funnel_filters()
    return {
        "query": query,
        "filters": filters,
        "funnel": _funnel(page, query, snapshot),
        "funnel_url": url_builder("/", query.model_dump(mode="json", exclude_defaults=True)),
        "totals": totals,
        "owners": _owner_bars(page, filters),
        "outcomes": analytics.outcomes_this_quarter(
            page.session, actor=page.actor, filters=filters
        ),
        "quarter": analytics.quarter_of(today()),
        "forecast": _forecast(page, query),
        "pending": pending(query),
        "mine": mine,
    }


@dataclass(frozen=True)
class Pending:
    """A report the page fetches after it is shown."""

    report: str
    title: str
    url: str


def pending(query: DashboardQuery) -> list[Pending]:
    filters = query.model_dump(mode="json", exclude_defaults=True, exclude={"funnel"})
    return [
        Pending(report, title, url_builder(f"/dashboard/{report}", filters)())
        for report, (_, title) in PARTS.items()
    ]


def back_url(query: DashboardQuery) -> str:
    return url_builder("/", query.model_dump(mode="json", exclude_defaults=True))()


def part(page: Page, query: DashboardQuery, report: str) -> dict[str, Any]:
    """The context of one report's card of :data:`PARTS`."""
    if report == "conversion":
        return {"conversion": _conversion(page, query)}
    if report == "win-loss":
        return {"win_loss": _win_loss(page, query)}
    names = lookups.stage_names(page.session, page.i18n)
    if report == "time-in-stage":
        return {"stages": _time_in_stage(page, query, names)}
    snapshot = analytics.funnel_report(
        page.session, actor=page.actor, options=FunnelOptions.model_validate(query.report_filters())
    )
    return {"stale": _stale(page, query, names, int(_totals(snapshot.phases)["count"]))}


def _totals(funnel: list[FunnelPhase]) -> dict[str, Decimal | int]:
    return {
        "count": sum(phase.count for phase in funnel),
        "value": sum((Decimal(phase.estimated_value) for phase in funnel), Decimal(0)),
        "weighted": sum((Decimal(phase.weighted_value) for phase in funnel), Decimal(0)),
    }


def _funnel(page: Page, query: DashboardQuery, snapshot: Any) -> Chart:
    """Today's funnel, or the cohort created in the last 90 days, followed in order."""
    found = snapshot
    if query.funnel == "cohort":
        options = FunnelOptions.model_validate({**query.report_filters(), "mode": "ordered"})
        found = analytics.funnel_report(page.session, actor=page.actor, options=options)
    by_count = query.funnel == "cohort"
    chart = charts.funnel(found.phases, page.i18n, by_count=by_count)
    shown = chart if any(row.count for row in chart.rows) else None
    return Chart(shown, conventions.line("funnel", found.convention, page.i18n))


def _owner_bars(page: Page, filters: FunnelFilters) -> list[charts.Bar]:
    names = lookups.user_names(page.session)
    rows = analytics.pipeline_by_owner(page.session, actor=page.actor, filters=filters)
    return charts.bars(
        [(names.get(row.owner_id, "?"), row.count, Decimal(row.estimated_value)) for row in rows],
        page.i18n,
    )


@dataclass(frozen=True)
class Conversion(Chart):
    rows: list[Any]


def _conversion(page: Page, query: DashboardQuery) -> Conversion:
    options = ConversionOptions.model_validate(query.report_filters())
    found = analytics.conversion(page.session, actor=page.actor, options=options)
    return Conversion(
        report_charts.conversion(found.rows, page.i18n),
        conventions.line("conversion", found.convention, page.i18n),
        found.rows,
    )


def _time_in_stage(
    page: Page, query: DashboardQuery, names: dict[tuple[str, str], lookups.StageName]
) -> Chart:
    options = TimeInStageOptions.model_validate(query.report_filters())
    found = analytics.time_in_stage(page.session, actor=page.actor, options=options)
    return Chart(
        report_charts.time_in_stage(found.rows, names, page.i18n),
        conventions.line("time_in_stage", found.convention, page.i18n),
    )


@dataclass(frozen=True)
class Stale(Chart):
    lines: list[report_charts.StaleLine]


def _stale(
    page: Page,
    query: DashboardQuery,
    names: dict[tuple[str, str], lookups.StageName],
    open_count: int,
) -> Stale:
    options = ReportFilters.model_validate(query.report_filters())
    found = analytics.stale(page.session, actor=page.actor, options=options)
    total = found.convention.get("total")
    share = report_charts.stale_share(
        total if isinstance(total, int) else len(found.rows), open_count
    )
    owners = lookups.user_names(page.session)
    return Stale(
        share,
        conventions.line("stale", found.convention, page.i18n),
        report_charts.stale_lines(found.rows, names, owners),
    )


def _forecast(page: Page, query: DashboardQuery) -> Chart:
    """The single rollup, so each category is its own layer of a stacked column."""
    options = ForecastOptions.model_validate({**query.report_filters(), "rollup": "single"})
    found = analytics.forecast(page.session, actor=page.actor, options=options)
    day = conventions.as_of_day(found.convention) or today()
    buckets = report_charts.forecast_buckets(found.rows, day, page.i18n)
    return Chart(
        report_charts.forecast(buckets, page.i18n),
        conventions.line("forecast", found.convention, page.i18n),
    )


@dataclass(frozen=True)
class WinLoss(Chart):
    summary: Any
    reasons: list[report_charts.Ranked]
    competitors: list[report_charts.Ranked]
    period: tuple[date, date] | None


def _win_loss(page: Page, query: DashboardQuery) -> WinLoss:
    """Over this quarter (the report's default period)."""
    options = ReportFilters.model_validate(query.report_filters())
    found = analytics.win_loss(page.session, actor=page.actor, options=options)
    summary = found.rows[0]
    return WinLoss(
        report_charts.win_loss(summary, page.i18n),
        conventions.line("win_loss", found.convention, page.i18n),
        summary,
        report_charts.top_tallies(found.loss_reasons, page.i18n),
        report_charts.top_tallies(found.competitors, page.i18n),
        conventions.days_of(found.convention),
    )
