"""The dashboard's chart builders and convention lines, as pure functions of report answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from oppflow.analytics.schemas import ConversionRow, ForecastRow, TimeInStageRow, WinLossRow
from oppflow.web import conventions, report_charts
from oppflow.web.i18n import I18n
from oppflow.web.lookups import StageName

EN, FR = I18n("en"), I18n("fr")


def test_periods_are_read_half_open_in_their_time_zone() -> None:
    quarter = {"period": "[2026-10-01T00:00:00+00:00, 2027-01-01T00:00:00+00:00)"}
    assert conventions.days_of(quarter) == (date(2026, 10, 1), date(2026, 12, 31))
    paris = {
        "period": "[2026-09-30T22:00:00+00:00, 2026-12-31T23:00:00+00:00)",
        "time_zone": "Europe/Paris",
    }
    assert conventions.days_of(paris) == (date(2026, 10, 1), date(2026, 12, 31))
    assert conventions.days_of({"period": "all months"}) is None
    assert conventions.days_of({"period": "[nope, 2026-01-01)"}) is None
    assert conventions.zone({"time_zone": "Not/AZone"}).tzname(None) == "UTC"


def test_lines_say_the_convention_of_the_answer() -> None:
    cohort = {
        "as_of": "2026-12-05T02:06:53+00:00",
        "mode": "any",
        "cohort": "entered",
        "period": "[2026-09-06T02:06:53+00:00, 2026-12-05T02:06:53+00:00)",
    }
    assert conventions.line("funnel", cohort, EN) == (
        "Opportunities that first entered the first phase Sep 6\u2009–\u2009Dec 5, 2026, "
        "followed to Dec 5, 2026. A phase counts when it was ever reached."
    )
    snapshot = {"as_of": "2026-12-05T02:06:53+00:00", "mode": "snapshot"}
    assert conventions.line("funnel", snapshot, FR).startswith("Opportunités ouvertes au 5 déc.")
    cumulative = {"as_of": "2026-12-05T00:00:00+00:00", "rollup": "cumulative"}
    assert "commit includes closed" in conventions.line("forecast", cumulative, EN)
    assert "Chaque catégorie séparément." in conventions.line(
        "forecast", {**cumulative, "rollup": "single"}, FR
    )
    latest = conventions.line("time_in_stage", {"measure": "latest"}, EN)
    assert latest.endswith("Only the latest stay of each opportunity counts.")
    assert "—" in latest  # no period, no as_of: said as unknown, never invented
    assert "only where the stage sets one" in conventions.line(
        "stale", {"default_threshold_days": 0}, EN
    )


def forecast_row(month: str, **amounts: int) -> ForecastRow:
    values = {"closed": 0, "commit": 0, "best_case": 0, "pipeline": 0, "omitted": 0}
    values.update(amounts)
    weighted = amounts.get("pipeline", 0) // 10
    return ForecastRow(month=month, count=1, weighted_pipeline=Decimal(weighted), **values)


def test_forecast_buckets_overdue_months_and_no_date() -> None:
    rows = [
        forecast_row("2026-09", closed=500, pipeline=100),
        forecast_row("2026-11", commit=40, best_case=60),
        forecast_row("2027-01", pipeline=1000),
        forecast_row("2027-06", pipeline=7),
        forecast_row("none", pipeline=300, omitted=50),
    ]
    buckets = report_charts.forecast_buckets(rows, date(2026, 12, 5), EN)
    labels = [bucket.label for bucket in buckets]
    assert labels == [
        "Overdue", "Dec 2026", "Jan 2027", "Feb 2027", "Mar 2027", "Apr 2027", "May 2027",
        "No date",
    ]  # fmt: skip
    overdue = buckets[0].amounts
    assert overdue == {"closed": 0, "commit": 40, "best_case": 60, "pipeline": 100}
    assert buckets[2].amounts["pipeline"] == 1000
    assert buckets[-1].amounts["pipeline"] == 300  # omitted never counts
    chart = report_charts.forecast(buckets, EN)
    assert chart is not None
    assert [tick.label for tick in chart.ticks] == ["$0", "$250", "$500", "$750", "$1K"]
    assert (
        report_charts.forecast(report_charts.forecast_buckets([], date(2026, 12, 5), EN), EN)
        is None
    )


@pytest.mark.parametrize(
    ("highest", "step"), [(1.0, 0.25), (93_000, 25_000), (7_400_000, 2_000_000), (40, 10)]
)
def test_round_steps(highest: float, step: float) -> None:
    assert report_charts.nice_step(highest) == step


def test_conversion_columns_and_empty_cohorts() -> None:
    rows = [
        ConversionRow(pipeline_phase="1-Qualify", reached=10, next_step_rate=0.5,
                      cumulative_rate=1.0, won=1, lost=1, open=8, win_rate=0.5),
        ConversionRow(pipeline_phase="2-Develop", reached=5, next_step_rate=None,
                      cumulative_rate=0.5, won=0, lost=0, open=5, win_rate=None),
    ]  # fmt: skip
    chart = report_charts.conversion(rows, FR)
    assert chart is not None
    assert [step.rate for step in chart.steps] == ["50\xa0%"]
    assert chart.columns[1].height == chart.columns[0].height / 2
    assert chart.columns[1].win_rate == "réussite —"
    empty = [row.model_copy(update={"reached": 0}) for row in rows]
    assert report_charts.conversion(empty, EN) is None


def test_stays_still_open_have_no_median_yet() -> None:
    row = TimeInStageRow(process="p", stage="a", pipeline_phase="1-Qualify", completed=1,
                         still_open=5, median_days=None, mean_completed_days=3.0)  # fmt: skip
    names = {("p", "a"): StageName("Talk", "Short deal", (0, 0))}
    chart = report_charts.time_in_stage([row], names, EN)
    assert chart is not None
    bar = chart.bars[0]
    assert (bar.label, bar.median, bar.heading) == ("Talk", "most still open", "")
    assert bar.detail == "mean 3 days · 1 done · 5 open"


def test_win_loss_bars() -> None:
    row = WinLossRow(won=1, lost=3, won_value=Decimal(300), lost_value=Decimal(100),
                     win_rate=0.25, win_rate_by_value=0.75, median_cycle_days_won=10.0,
                     median_cycle_days_closed=12.0, open=4, mean_won_value=Decimal(300),
                     velocity_per_day=Decimal(30))  # fmt: skip
    chart = report_charts.win_loss(row, EN)
    assert chart is not None
    by_count, by_value = chart.bars
    assert (by_count.won, by_count.lost, by_count.rate) == ("1 won", "3 lost", "25%")
    assert by_value.won_width == report_charts.WIN_AREA * 0.75
    nothing = row.model_copy(update={"won": 0, "lost": 0})
    assert report_charts.win_loss(nothing, EN) is None
