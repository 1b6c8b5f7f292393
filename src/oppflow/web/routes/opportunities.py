"""The opportunity list (views, filters, sort, search, pages) and the new opportunity form."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from oppflow.analytics import service as analytics
from oppflow.analytics.schemas import OpportunitySearch
from oppflow.process.fields import CATEGORIES, pipeline_phase
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import OpportunityCreate
from oppflow.web import forms, lookups
from oppflow.web.context import PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.i18n import N_
from oppflow.web.listing import Paging, lenient, url_builder
from oppflow.web.render import redirect, render

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
    search, dropped = lenient(OpportunitySearch, params)
    rows, total = analytics.search_opportunities(page.session, actor=page.actor, search=search)
    current = search.model_dump(exclude_defaults=True, mode="json")
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
    )


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
