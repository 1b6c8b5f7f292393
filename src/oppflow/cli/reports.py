"""``oppflow report …``: every pipeline report of ANALYTICS.md, as Rich tables, CSV or JSON.

Each report runs as the user named by ``--as`` (or ``OPPFLOW_USER``), so it counts exactly what
that user may read, through the same service and the same option checks as the API; an option
the report does not take is refused with one line and exit status 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import JustifyMethod
from rich.table import Table

from oppflow.analytics import export, service
from oppflow.analytics.options import (
    CalibrationOptions,
    ConversionOptions,
    ForecastOptions,
    FunnelOptions,
    ReportFilters,
    TimeInStageOptions,
    WaterfallOptions,
)
from oppflow.console import AsUser, as_actor, out, print_json, unit


class Report(StrEnum):
    funnel = "funnel"
    conversion = "conversion"
    flow = "flow"
    time_in_stage = "time-in-stage"
    stale = "stale"
    forecast = "forecast"
    waterfall = "waterfall"
    win_loss = "win-loss"
    calibration = "calibration"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


REPORTS: dict[Report, tuple[type[ReportFilters], Callable[..., BaseModel]]] = {
    Report.funnel: (FunnelOptions, service.funnel_report),
    Report.conversion: (ConversionOptions, service.conversion),
    Report.flow: (ReportFilters, service.flow),
    Report.time_in_stage: (TimeInStageOptions, service.time_in_stage),
    Report.stale: (ReportFilters, service.stale),
    Report.forecast: (ForecastOptions, service.forecast),
    Report.waterfall: (WaterfallOptions, service.waterfall),
    Report.win_loss: (ReportFilters, service.win_loss),
    Report.calibration: (CalibrationOptions, service.calibration),
}
INSTANT = "An ISO date or a date-time with an offset."
Text = str | None


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    name: Annotated[Report, typer.Argument(help="Which report.")],
    user: AsUser,
    output: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    owner_id: Annotated[uuid.UUID | None, typer.Option("--owner-id")] = None,
    business_unit_id: Annotated[uuid.UUID | None, typer.Option("--business-unit-id")] = None,
    process: Annotated[Text, typer.Option(help="A process key.")] = None,
    start_of_period: Annotated[Text, typer.Option("--from", help=INSTANT)] = None,
    end_of_period: Annotated[Text, typer.Option("--to", help=INSTANT)] = None,
    as_of: Annotated[Text, typer.Option("--as-of", help=INSTANT)] = None,
    tz: Annotated[Text, typer.Option(help="IANA time zone of bare dates.")] = None,
    mode: Annotated[Text, typer.Option(help="snapshot, ordered or any.")] = None,
    cohort: Annotated[Text, typer.Option(help="created or entered.")] = None,
    known: Annotated[Text, typer.Option(help="effective or recorded.")] = None,
    measure: Annotated[Text, typer.Option(help="cumulative or latest.")] = None,
    rollup: Annotated[Text, typer.Option(help="cumulative or single.")] = None,
    start: Annotated[Text, typer.Option(help="The waterfall's earlier instant.")] = None,
    details: Annotated[bool | None, typer.Option(help="List each waterfall line's deals.")] = None,
) -> None:
    """Print a pipeline report, counting what the acting user may read."""
    given = {
        "owner_id": owner_id, "business_unit_id": business_unit_id, "process": process,
        "from": start_of_period, "to": end_of_period, "as_of": as_of, "tz": tz, "mode": mode,
        "cohort": cohort, "known": known, "measure": measure, "rollup": rollup, "start": start,
        "details": details,
    }  # fmt: skip
    model, compute = REPORTS[name]
    with unit(read_only=True) as session:
        options = model.model_validate({k: v for k, v in given.items() if v is not None})
        answer = compute(session, actor=as_actor(session, user), options=options)
    _print(answer, output, name.value)


def _print(answer: BaseModel, output: Format, title: str) -> None:
    if output is Format.json:
        print_json(answer.model_dump(mode="json"))
        return
    rows = export.rows_of(answer)
    if output is Format.csv:
        out.print(export.as_csv(rows), end="", highlight=False, markup=False, soft_wrap=True)
        return
    out.print(_vertical(title, rows[0]) if len(rows) == 1 else _table(title, rows))
    convention = getattr(answer, "convention", {})
    out.print(", ".join(f"{k}: {v}" for k, v in convention.items()), style="dim", highlight=False)


def _table(title: str, rows: list[BaseModel]) -> Table:
    table = Table(title=title)
    if not rows:
        table.add_column("no rows")
        return table
    fields = list(type(rows[0]).model_fields)
    for field in fields:
        justify: JustifyMethod = "right" if _numeric(getattr(rows[0], field)) else "left"
        table.add_column(field.replace("_", " "), justify=justify)
    for row in rows:
        table.add_row(*(_shown(getattr(row, field)) for field in fields))
    return table


def _vertical(title: str, row: BaseModel) -> Table:
    """A one-row report (win/loss) as a list of its fields."""
    table = Table(title=title, show_header=False)
    table.add_column("field")
    table.add_column("value", justify="right")
    for field in type(row).model_fields:
        table.add_row(field.replace("_", " "), _shown(getattr(row, field)))
    return table


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return "—" if value is None else str(export.cell(value))
