"""Leads: the list, a lead's page, qualify (with the duplicate warning), disqualify."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.leads import service as lead_service
from oppflow.leads.repository import LeadRepository
from oppflow.leads.schemas import (
    DisqualifyRequest,
    LeadCreate,
    LeadFilters,
    LeadUpdate,
    QualifyRequest,
)
from oppflow.web import forms, lead_page, lookups
from oppflow.web.context import PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.i18n import N_
from oppflow.web.listing import lenient, url_builder
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

router = web_router()
STATES = (
    ("open", N_("Open leads")),
    ("qualified", N_("Qualified")),
    ("disqualified", N_("Disqualified")),
    ("", N_("All leads")),
)
PAGE_SIZE = 25


@router.get("/leads")
async def lead_list(page: PageDep) -> Response:
    """Leads the user may read, newest filters first; pages follow a cursor."""
    params = dict(page.request.query_params)
    params.setdefault("state", "open")
    filters, dropped = lenient(LeadFilters, params)
    repository = LeadRepository(page.session, page.actor)
    cursor = page.request.query_params.get("cursor") or None
    with refusals(page.i18n, "/leads"):
        rows, next_cursor = repository.page(
            repository.conditions(filters), limit=PAGE_SIZE, cursor=cursor
        )
    current = {"state": params.get("state", ""), "q": filters.q}
    return render(
        page,
        "leads.html",
        section="leads",
        rows=rows,
        filters=filters,
        dropped=dropped,
        next_cursor=next_cursor,
        url=url_builder("/leads", current),
        states=STATES,
        state=params.get("state", ""),
        names=lookups.user_names(page.session),
    )


@router.get("/leads/new")
async def new_lead(page: PageDep) -> Response:
    return render(
        page,
        "lead_new.html",
        section="leads",
        fields=lead_page.fields(page.i18n),
        accounts=[],
        contacts=[],
    )


@router.post("/leads/new")
async def create_lead(page: PageDep, form: FormDep) -> Response:
    """Create a lead; it starts on Qualify of the lead process."""
    with refusals(page.i18n, "/leads/new"):
        data = forms.validated(LeadCreate, _values(page, form), page.i18n, _labels(page))
        lead = lead_service.create_lead(page.session, actor=page.actor, data=data)
    return redirect(page, f"/leads/{lead.id}", page.i18n.gettext("Created."))


def _values(page: PageDep, form: FormData) -> dict[str, Any]:
    kinds = [
        (name, "boolean" if kind == "boolean" else "text")
        for name, kind in lead_page.kinds(page.i18n)
    ]
    return {
        key: value
        for key, value in forms.field_values(form, kinds).items()
        if key in form or key == "decision_maker_identified"
    }


def _labels(page: PageDep) -> dict[str, str]:
    return {field.name: field.label for field in lead_page.fields(page.i18n)}


@router.get("/leads/{lead_id}")
async def lead(page: PageDep, lead_id: str) -> Response:
    """A lead with its process, its details, and the qualify and disqualify dialogs."""
    found = LeadRepository(page.session, page.actor).get(parse_id(lead_id))
    return render(page, "lead.html", section="leads", **lead_page.context(page, found))


@router.post("/leads/{lead_id}/details")
async def save_lead(page: PageDep, lead_id: str, form: FormDep) -> Response:
    record_id = parse_id(lead_id)
    back = f"/leads/{record_id}"
    with refusals(page.i18n, back):
        data = forms.validated(LeadUpdate, _values(page, form), page.i18n, _labels(page))
        lead_service.update_lead(
            page.session,
            actor=page.actor,
            lead_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.post("/leads/{lead_id}/qualify")
async def qualify(page: PageDep, lead_id: str, form: FormDep) -> Response:
    """Qualify: link or create the account and contact, create the opportunity (on Develop)."""
    record_id = parse_id(lead_id)
    with refusals(page.i18n, f"/leads/{record_id}"):
        data = forms.validated(QualifyRequest, _qualify_values(form), page.i18n, {})
        done = lead_service.qualify(
            page.session,
            actor=page.actor,
            lead_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    message = page.i18n.gettext("The lead is qualified.")
    target = f"/opportunities/{done.opportunity.id}" if done.opportunity else f"/leads/{record_id}"
    return redirect(page, target, message)


def _qualify_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        "create_opportunity": forms.flag(form, "create_opportunity"),
        "ignore_duplicates": forms.flag(form, "duplicates_shown"),
    }
    for table in ("account", "contact"):
        choice = forms.text(form, f"{table}_choice")
        if choice == "create":
            values[f"create_{table}"] = True
        elif choice == "none":
            values[f"create_{table}"] = False
        elif choice:
            values[f"existing_{table}_id"] = choice
    return values


@router.post("/leads/{lead_id}/disqualify")
async def disqualify(page: PageDep, lead_id: str, form: FormDep) -> Response:
    record_id = parse_id(lead_id)
    back = f"/leads/{record_id}"
    with refusals(page.i18n, back):
        values = {"status_reason": forms.text(form, "status_reason")}
        data = forms.validated(DisqualifyRequest, values, page.i18n, {})
        lead_service.disqualify(
            page.session,
            actor=page.actor,
            lead_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("The lead is disqualified."))


@router.post("/leads/{lead_id}/reactivate")
async def reactivate(page: PageDep, lead_id: str, form: FormDep) -> Response:
    record_id = parse_id(lead_id)
    back = f"/leads/{record_id}"
    with refusals(page.i18n, back):
        lead_service.reactivate(
            page.session, actor=page.actor, lead_id=record_id, if_match=forms.version(form)
        )
    return redirect(page, back, page.i18n.gettext("The lead is open again."))
