"""The opportunity list (views, filters, sort, search, pages) and the new opportunity form."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.responses import Response

from oppflow.analytics import service as analytics
from oppflow.analytics.schemas import OpportunitySearch
from oppflow.models import SavedView
from oppflow.process.fields import CATEGORIES, pipeline_phase
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import OpportunityCreate
from oppflow.saved_views import service as views_service
from oppflow.web import forms, lookups
from oppflow.web.context import PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.i18n import N_
from oppflow.web.listing import Paging, lenient, url_builder
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

router = web_router()
VIEWS = (
    ("my_open", N_("My open opportunities")),
    ("member", N_("Opportunities I am a member of")),
    ("open", N_("All open opportunities")),
    ("closed", N_("Closed opportunities")),
    ("all", N_("All opportunities")),
)
SORTS = (
    ("estimated_close_date", N_("Estimated close date")),
    ("estimated_value", N_("Estimated revenue")),
    ("name", N_("Topic")),
    ("probability", N_("Probability")),
    ("pipeline_phase", N_("Pipeline phase")),
    ("modified_at", N_("Last changed")),
)
COLUMN_LABELS = {
    "pipeline_phase": N_("Phase"),
    "estimated_value": N_("Estimated revenue"),
    "estimated_close_date": N_("Close date"),
    "probability": N_("Probability"),
    "forecast_category": N_("Forecast category"),
    "rating": N_("Rating"),
    "owner": N_("Owner"),
    "state": N_("Status"),
}
NEW_FIELDS = (
    ("name", "text"),
    ("account_id", "account"),
    ("contact_id", "contact"),
    ("estimated_value", "money"),
    ("estimated_close_date", "date"),
    ("process_key", "text"),
    ("description", "text"),
)


@router.get("/opportunities")
async def opportunity_list(page: PageDep) -> Response:
    """A list view of the opportunities the user may read."""
    params = dict(page.request.query_params)
    # Columns come as one comma-separated value (saved views, links) or one per checkbox.
    asked = ",".join(page.request.query_params.getlist("cols"))
    params.pop("cols", None)
    columns = views_service.chosen_columns(asked.split(","))
    search, dropped = lenient(OpportunitySearch, params)
    rows, total = analytics.search_opportunities(page.session, actor=page.actor, search=search)
    current = search.model_dump(exclude_defaults=True, mode="json")
    if asked:
        current["cols"] = ",".join(columns)
    return render(
        page,
        "opportunities.html",
        section="opportunities",
        search=search,
        rows=rows,
        paging=Paging(search.page, search.per_page, total),
        url=url_builder("/opportunities", current),
        dropped=dropped,
        views=VIEWS,
        sorts=SORTS,
        names=lookups.user_names(page.session),
        owners=lookups.active_users(page.session),
        phases=[pipeline_phase(category) for category in CATEGORIES],
        processes=lookups.opportunity_processes(page.session, page.i18n),
        forecast_options=lookups.options(lookups.FORECAST_CATEGORIES, page.i18n),
        columns=columns,
        column_labels=COLUMN_LABELS,
        saved_views=[
            (view, _view_url(view))
            for view in views_service.list_views(page.session, actor=page.actor)
        ],
        current_query=urlencode(current),
    )


def _view_url(view: SavedView) -> str:
    return "/opportunities?" + urlencode({**view.query, "cols": ",".join(view.columns)})


@router.post("/opportunities/views")
async def save_view(page: PageDep, form: FormDep) -> Response:
    """Save the list as it stands (filters, sort, columns) under a name of the user's."""
    query = dict(parse_qsl(forms.text(form, "query") or "")[:40])
    columns = query.pop("cols", "").split(",")
    with refusals(page.i18n, "/opportunities?" + urlencode(query)):
        view = views_service.save_view(
            page.session,
            actor=page.actor,
            name=forms.text(form, "name") or "",
            query=query,
            columns=columns,
        )
    return redirect(page, _view_url(view), page.i18n.gettext("View saved."))


@router.post("/opportunities/views/{view_id}/delete")
async def delete_view(page: PageDep, view_id: str) -> Response:
    with refusals(page.i18n, "/opportunities"):
        views_service.delete_view(page.session, actor=page.actor, view_id=parse_id(view_id))
    return redirect(page, "/opportunities", page.i18n.gettext("Deleted."))


@router.get("/opportunities/new")
async def new_opportunity(page: PageDep) -> Response:
    """The form of a new opportunity."""
    return render(page, "opportunity_new.html", **_form_context(page))


def _form_context(page: PageDep) -> dict[str, Any]:
    return {
        "section": "opportunities",
        "processes": lookups.opportunity_processes(page.session, page.i18n),
    }


@router.post("/opportunities/new")
async def create_opportunity(page: PageDep, form: FormDep) -> Response:
    """Create the opportunity; it starts on the first stage of its process."""
    with refusals(page.i18n, "/opportunities/new"):
        _ = page.i18n.gettext
        labels = {"name": _("Topic"), "estimated_value": _("Estimated revenue")}
        labels |= {"estimated_close_date": _("Estimated close date")}
        values = forms.field_values(form, list(NEW_FIELDS))
        data = forms.validated(OpportunityCreate, values, page.i18n, labels)
        created = sales_service.create_opportunity(page.session, actor=page.actor, data=data)
    return redirect(page, f"/opportunities/{created.id}", page.i18n.gettext("Created."))
