"""One opportunity: its page, its steps, process moves, details, and closing as won or lost.

Every change calls the service the API calls, with the version the page was rendered with as
``if_match``; a refusal goes back to the page with the message (and the missing steps marked).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.errors import MoveRefused, NotFound
from oppflow.process import service as process_service
from oppflow.process.schemas import InstanceView
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import LoseRequest, OpportunityUpdate, WinRequest
from oppflow.web import forms, opportunity_page
from oppflow.web.actions import save_panel
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals, with_query
from oppflow.web.forms import FormDep
from oppflow.web.render import is_fetch, redirect, refused, render

router = web_router()
MOVES = {"next", "previous", "finish", "abandon", "reactivate", "set-active"}
DETAIL_FIELDS = (
    ("name", "text"),
    ("estimated_value", "money"),
    ("estimated_close_date", "date"),
    ("probability", "integer"),
    ("forecast_category", "choice"),
    ("rating", "choice"),
    ("currency", "text"),
    ("description", "text"),
)


def parse_id(value: str) -> uuid.UUID:
    """A record id from a path; anything else is a page that does not exist."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"No record {value[:40]!r}.") from None


def page_url(opportunity_id: uuid.UUID, stage: str | None = None) -> str:
    return with_query(f"/opportunities/{opportunity_id}", stage=stage) + "#process"


@router.get("/opportunities/{opportunity_id}")
async def opportunity(
    page: PageDep,
    opportunity_id: str,
    stage: Annotated[str | None, Query(max_length=64)] = None,
    missing: Annotated[list[str] | None, Query(max_length=40)] = None,
    tab: Annotated[str, Query(max_length=20)] = "history",
) -> Response:
    """The opportunity with its process bar, dialogs and tabs."""
    found = opportunity_page.context(
        page, parse_id(opportunity_id), stage=stage, missing=missing or [], tab=tab
    )
    return render(page, "opportunity.html", section="opportunities", **found)


@router.post("/opportunities/{opportunity_id}/steps")
async def save_steps(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Save the steps of one stage (the panel's fields), as the PATCH of the API does."""
    record_id = parse_id(opportunity_id)
    back = page_url(record_id, forms.text(form, "panel"))
    with refusals(page.i18n, back):
        version = save_panel(page, record_id, form)
    if is_fetch(page.request):
        return _steps_json(page, record_id, version)
    return redirect(page, back, page.i18n.gettext("Saved."))


def _steps_json(page: Page, record_id: uuid.UUID, version: int | None) -> Response:
    view = process_service.view(
        page.session, actor=page.actor, opportunity_id=record_id, language=page.i18n.language
    )
    complete = {step.field: step.complete for stage in view.stages for step in stage.steps}
    return JSONResponse({"ok": True, "version": version, "complete": complete})


@router.post("/opportunities/{opportunity_id}/process/{kind}")
async def move(page: PageDep, opportunity_id: str, kind: str, form: FormDep) -> Response:
    """Next stage, previous, set active, finish, abandon, reactivate or switch process; the
    panel's fields posted with the move are saved first, and stay saved if the move is refused."""
    record_id = parse_id(opportunity_id)
    back = page_url(record_id, forms.text(form, "from_stage"))
    if kind not in MOVES and kind != "switch":
        raise NotFound(f"No move {kind[:20]!r}.")
    with refusals(page.i18n, back):
        version = save_panel(page, record_id, form)
        try:
            view = _move(page, record_id, kind, form, version)
        except MoveRefused as error:
            return refused(page, back, error)
    message = page.i18n.gettext("Now on %(stage)s.") % {"stage": view.active_stage.name}
    return redirect(page, page_url(record_id, view.active_stage.key), message)


def _move(
    page: Page, record_id: uuid.UUID, kind: str, form: FormData, if_match: int | None
) -> InstanceView:
    language = page.i18n.language
    if kind == "switch":
        return process_service.switch(
            page.session,
            actor=page.actor,
            opportunity_id=record_id,
            process_key=forms.text(form, "process") or "",
            if_match=if_match,
            language=language,
        )
    return process_service.move(
        page.session,
        actor=page.actor,
        opportunity_id=record_id,
        kind=kind.replace("-", "_"),
        stage=forms.text(form, "stage"),
        if_match=if_match,
        language=language,
    )


@router.post("/opportunities/{opportunity_id}/details")
async def save_details(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """The header's details: name, value, close date, probability, forecast, rating."""
    record_id = parse_id(opportunity_id)
    back = f"/opportunities/{record_id}"
    with refusals(page.i18n, back):
        labels = _detail_labels(page)
        values = forms.field_values(form, list(DETAIL_FIELDS))
        values = {key: value for key, value in values.items() if key in form}
        data = forms.validated(OpportunityUpdate, values, page.i18n, labels)
        sales_service.update_opportunity(
            page.session,
            actor=page.actor,
            opportunity_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.post("/opportunities/{opportunity_id}/win")
async def win(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Close as won."""
    record_id = parse_id(opportunity_id)
    back = f"/opportunities/{record_id}"
    with refusals(page.i18n, back):
        values = {
            "actual_revenue": forms.text(form, "actual_revenue"),
            "close_date": forms.text(form, "close_date"),
            "description": forms.text(form, "description"),
        }
        data = forms.validated(WinRequest, values, page.i18n, _close_labels(page))
        sales_service.win(
            page.session,
            actor=page.actor,
            opportunity_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Closed as won. Congratulations!"))


@router.post("/opportunities/{opportunity_id}/lose")
async def lose(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Close as lost: canceled or out-sold, with the competitor."""
    record_id = parse_id(opportunity_id)
    back = f"/opportunities/{record_id}"
    with refusals(page.i18n, back):
        values = {
            "status_reason": forms.text(form, "status_reason") or "canceled",
            "competitor_id": forms.text(form, "competitor_id"),
            "close_date": forms.text(form, "close_date"),
            "description": forms.text(form, "description"),
        }
        data = forms.validated(LoseRequest, values, page.i18n, _close_labels(page))
        sales_service.lose(
            page.session,
            actor=page.actor,
            opportunity_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Closed as lost."))


def _detail_labels(page: Page) -> dict[str, str]:
    _ = page.i18n.gettext
    return {
        "name": _("Topic"),
        "estimated_value": _("Estimated revenue"),
        "estimated_close_date": _("Estimated close date"),
        "probability": _("Probability"),
        "forecast_category": _("Forecast category"),
        "rating": _("Rating"),
        "currency": _("Currency"),
        "description": _("Description"),
    }


def _close_labels(page: Page) -> dict[str, str]:
    _ = page.i18n.gettext
    return {
        "actual_revenue": _("Actual revenue"),
        "close_date": _("Close date"),
        "description": _("Description"),
        "status_reason": _("Status reason"),
        "competitor_id": _("Competitor"),
    }


@router.post("/opportunities/{opportunity_id}/reopen")
async def reopen(page: PageDep, opportunity_id: str, form: FormDep) -> Response:
    """Reopen a won or lost opportunity."""
    record_id = parse_id(opportunity_id)
    back = f"/opportunities/{record_id}"
    with refusals(page.i18n, back):
        sales_service.reopen(
            page.session, actor=page.actor, opportunity_id=record_id, if_match=forms.version(form)
        )
    return redirect(page, back, page.i18n.gettext("Reopened."))
