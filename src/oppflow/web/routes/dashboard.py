"""The dashboard: the funnel (today's, or a cohort's), the pipeline by owner, the reports as
charts (conversion, forecast, time in stage, stale deals, win/loss) and my opportunities."""

from __future__ import annotations

from starlette.responses import Response

from oppflow.web import dashboard_page, lookups
from oppflow.web.context import PageDep, web_router
from oppflow.web.listing import lenient
from oppflow.web.render import render

router = web_router()


@router.get("/")
async def dashboard(page: PageDep) -> Response:
    """The manager's and the salesperson's first page, filtered by owner, unit and process."""
    query, dropped = lenient(dashboard_page.DashboardQuery, dict(page.request.query_params))
    return render(
        page,
        "dashboard.html",
        section="dashboard",
        dropped=dropped,
        owner_choices=lookups.active_users(page.session),
        units=lookups.business_units(page.session),
        processes=lookups.pipeline_processes(page.session, page.i18n),
        **dashboard_page.context(page, query),
    )
