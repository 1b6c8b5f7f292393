"""The dashboard: the funnel (today's, or a cohort's), the pipeline by owner, the forecast and
my opportunities on the page; the reports read from the change log (conversion, win/loss, time
in stage, stale deals) each at ``/dashboard/<report>``, which the page fetches once shown."""

from __future__ import annotations

from starlette.responses import Response

from oppflow.errors import NotFound
from oppflow.web import dashboard_page, lookups
from oppflow.web.context import PageDep, web_router
from oppflow.web.listing import lenient
from oppflow.web.render import render

router = web_router()
FRAGMENT_HEADER = "X-Oppflow-Fragment"


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


@router.get("/dashboard/{report}")
async def dashboard_report(page: PageDep, report: str) -> Response:
    """One report's card: alone when the dashboard's script fetches it, else on a page."""
    if report not in dashboard_page.PARTS:
        raise NotFound(f"No dashboard report {report!r}.")
    query, dropped = lenient(dashboard_page.DashboardQuery, dict(page.request.query_params))
    template, title = dashboard_page.PARTS[report]
    context = dashboard_page.part(page, query, report)
    if page.request.headers.get(FRAGMENT_HEADER) == "1":
        return render(page, template, **context)
    return render(
        page,
        "dashboard_report.html",
        section="dashboard",
        dropped=dropped,
        card=template,
        title=title,
        back=dashboard_page.back_url(query),
        **context,
    )
