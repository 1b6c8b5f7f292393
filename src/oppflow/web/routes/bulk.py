"""Bulk actions of the opportunity list: assign, set the forecast category, export the chosen
rows as CSV; through :mod:`oppflow.sales.bulk`, so each record obeys the rule it obeys alone."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from starlette.responses import Response

from oppflow.analytics.export import as_csv
from oppflow.errors import ValidationFailed
from oppflow.sales import bulk
from oppflow.sales.schemas import OpportunityRead
from oppflow.web import forms
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.render import redirect, safe_next

router = web_router()


def _ids(values: Sequence[object]) -> list[uuid.UUID]:
    found = [forms.record_id(value) for value in values if isinstance(value, str)]
    return [value for value in found if value is not None]


def _required_id(value: str | None, field: str, page: Page) -> uuid.UUID:
    found = forms.record_id(value)
    if found is None:
        raise ValidationFailed(page.i18n.gettext("Choose a user to assign to."), field=field)
    return found


@router.post("/opportunities/bulk")
async def bulk_action(page: PageDep, form: FormDep) -> Response:
    """``action`` is assign (to ``owner_id``), forecast (to ``forecast_category``) or export."""
    back = safe_next(forms.text(form, "back"), "/opportunities")
    ids = _ids(form.getlist("ids"))
    action = forms.text(form, "action")
    with refusals(page.i18n, back):
        if action == "export":
            rows = bulk.readable_many(page.session, actor=page.actor, ids=ids)
            text = as_csv([OpportunityRead.model_validate(row) for row in rows])
            headers = {"Content-Disposition": 'attachment; filename="opportunities.csv"'}
            return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
        if action == "assign":
            owner = _required_id(forms.text(form, "owner_id"), "owner_id", page)
            done = bulk.assign_many(page.session, actor=page.actor, ids=ids, owner_id=owner)
        elif action == "forecast":
            category = forms.text(form, "forecast_category") or ""
            done = bulk.set_forecast_many(
                page.session, actor=page.actor, ids=ids, category=category
            )
        else:
            raise ValidationFailed(page.i18n.gettext("Choose an action."), field="action")
    message = page.i18n.ngettext(
        "%(num)d opportunity changed.", "%(num)d opportunities changed.", done
    )
    return redirect(page, back, message % {"num": done})
