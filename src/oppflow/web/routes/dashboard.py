"""The dashboard: the funnel, the pipeline by owner, the quarter's outcomes, my opportunities."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.responses import Response

from oppflow.analytics import service as analytics
from oppflow.analytics.schemas import FunnelFilters, OpportunitySearch
from oppflow.clock import today
from oppflow.web import charts, lookups
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.listing import lenient
from oppflow.web.render import render

router = web_router()


@router.get("/")
async def dashboard(page: PageDep) -> Response:
    """The manager's and the salesperson's first page, filtered by owner, unit and process."""
    filters, dropped = lenient(FunnelFilters, dict(page.request.query_params))
    funnel = analytics.funnel(page.session, actor=page.actor, filters=filters).phases
    mine, _ = analytics.search_opportunities(
        page.session, actor=page.actor, search=OpportunitySearch(view="my_open", per_page=8)
    )
    return render(
        page,
        "dashboard.html",
        section="dashboard",
        filters=filters,
        dropped=dropped,
        funnel=charts.funnel(funnel, page.i18n),
        totals=_totals(funnel),
        owners=_owner_bars(page, filters),
        outcomes=analytics.outcomes_this_quarter(page.session, actor=page.actor, filters=filters),
        quarter=analytics.quarter_of(today()),
        mine=mine,
        owner_choices=lookups.active_users(page.session),
        units=lookups.business_units(page.session),
        processes=lookups.opportunity_processes(page.session, page.i18n),
    )


def _totals(funnel: list[Any]) -> dict[str, Decimal | int]:
    return {
        "count": sum(phase.count for phase in funnel),
        "value": sum((Decimal(phase.estimated_value) for phase in funnel), Decimal(0)),
        "weighted": sum((Decimal(phase.weighted_value) for phase in funnel), Decimal(0)),
    }


def _owner_bars(page: Page, filters: FunnelFilters) -> list[charts.Bar]:
    names = lookups.user_names(page.session)
    rows = analytics.pipeline_by_owner(page.session, actor=page.actor, filters=filters)
    return charts.bars(
        [(names.get(row.owner_id, "?"), row.count, Decimal(row.estimated_value)) for row in rows],
        page.i18n,
    )
