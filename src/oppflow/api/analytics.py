"""``/api/v1/analytics``: every report of ANALYTICS.md §2, as JSON or (``Accept: text/csv``)
as CSV rows. Thin: the options are validated here, the reports are the service's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

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
from oppflow.analytics.schemas import (
    CalibrationReport,
    ConversionReport,
    FlowReport,
    ForecastReport,
    Funnel,
    StaleReport,
    TimeInStageReport,
    WaterfallReport,
    WinLossReport,
)
from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.responses import LIST
from oppflow.security.actor import Actor

router = APIRouter(prefix="/analytics", tags=["analytics"])
REPORT = {**LIST, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
R = TypeVar("R", bound=BaseModel)


def _answer(request: Request, report: R) -> R | Response:
    """The report, or its rows as CSV when the caller accepts CSV rather than JSON."""
    accept = request.headers.get("accept", "")
    if "text/csv" not in accept or "application/json" in accept:
        return report
    return Response(export.as_csv(export.rows_of(report)), media_type="text/csv; charset=utf-8")


def _report(
    request: Request,
    session: Session,
    actor: Actor,
    compute: Callable[..., R],
    options: BaseModel,
) -> R | Response:
    return _answer(request, compute(session, actor=actor, options=options))


@router.get("/funnel", response_model=Funnel, responses=REPORT)
async def funnel(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[FunnelOptions, Query()],
) -> Funnel | Response:
    """Open opportunities by pipeline phase as of ``as_of`` (default now): count, estimated
    value and weighted value; or, with ``mode=ordered|any``, the cohort funnel."""
    return _report(request, session, actor, service.funnel_report, options)


@router.get("/conversion", response_model=ConversionReport, responses=REPORT)
async def conversion(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[ConversionOptions, Query()],
) -> ConversionReport | Response:
    """Next-step, cumulative and win rates of the cohort created in ``[from, to)``."""
    return _report(request, session, actor, service.conversion, options)


@router.get("/flow", response_model=FlowReport, responses=REPORT)
async def flow(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[ReportFilters, Query()],
) -> FlowReport | Response:
    """Entries into each phase in ``[from, to)`` and exits by destination."""
    return _report(request, session, actor, service.flow, options)


@router.get("/time-in-stage", response_model=TimeInStageReport, responses=REPORT)
async def time_in_stage(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[TimeInStageOptions, Query()],
) -> TimeInStageReport | Response:
    """Per stage: Kaplan–Meier median stay (open stays censored), mean of completed stays."""
    return _report(request, session, actor, service.time_in_stage, options)


@router.get("/stale", response_model=StaleReport, responses=REPORT)
async def stale(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[ReportFilters, Query()],
) -> StaleReport | Response:
    """Open opportunities past their stage's threshold in the stage, or idle past it."""
    return _report(request, session, actor, service.stale, options)


@router.get("/forecast", response_model=ForecastReport, responses=REPORT)
async def forecast(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[ForecastOptions, Query()],
) -> ForecastReport | Response:
    """Value by close month and forecast category, rolled up ``cumulative`` or ``single``."""
    return _report(request, session, actor, service.forecast, options)


@router.get("/waterfall", response_model=WaterfallReport, responses=REPORT)
async def waterfall(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[WaterfallOptions, Query()],
) -> WaterfallReport | Response:
    """How the pipeline closing in ``[from, to)`` changed between ``start`` and ``as_of``."""
    return _report(request, session, actor, service.waterfall, options)


@router.get("/win-loss", response_model=WinLossReport, responses=REPORT)
async def win_loss(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[ReportFilters, Query()],
) -> WinLossReport | Response:
    """Win rate by count and value, sales cycles, velocity and loss reasons."""
    return _report(request, session, actor, service.win_loss, options)


@router.get("/calibration", response_model=CalibrationReport, responses=REPORT)
async def calibration(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    options: Annotated[CalibrationOptions, Query()],
) -> CalibrationReport | Response:
    """Empirical stage-to-win rates beside the stage defaults; Brier score and reliability."""
    return _report(request, session, actor, service.calibration, options)
