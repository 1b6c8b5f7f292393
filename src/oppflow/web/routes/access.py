"""Assign, share and revoke from the pages of opportunities, accounts, contacts and leads, through
the same service as the API's ``/{things}/{id}/assign`` and ``/shares``, so with its rules."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from oppflow.errors import NotFound
from oppflow.sales import sharing
from oppflow.security.schemas import AssignRequest, ShareRequest
from oppflow.security.scope import can
from oppflow.web import forms
from oppflow.web.access import PAGES, page_of
from oppflow.web.context import PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.render import redirect
from oppflow.web.routes.opportunity import parse_id

router: APIRouter = web_router()


def _things(value: str) -> str:
    if value not in PAGES:
        raise NotFound(f"No records {value[:20]!r}.")
    return value


@router.post("/{things}/{record_id}/assign")
async def assign(page: PageDep, things: str, record_id: str, form: FormDep) -> Response:
    """Give the record to another user (assign on it; the new owner must be able to read it)."""
    table, found = _things(things), parse_id(record_id)
    back = page_of(table, found)
    labels = {"owner_id": page.i18n.gettext("Owner")}
    with refusals(page.i18n, back):
        data = forms.validated(AssignRequest, {"owner_id": form.get("owner_id")}, page.i18n, labels)
        record = sharing.assign(
            page.session,
            actor=page.actor,
            things=table,
            record_id=found,
            owner_id=data.owner_id,
            if_match=forms.version(form),
        )
    # Given away beyond one's own reach: back to the list rather than to a page now missing.
    still_readable = can(page.session, page.actor, "read", record)
    return redirect(page, back if still_readable else f"/{table}", page.i18n.gettext("Assigned."))


@router.post("/{things}/{record_id}/shares")
async def share(page: PageDep, things: str, record_id: str, form: FormDep) -> Response:
    """Share with a user or a team the chosen rights (only rights the sharer has)."""
    table, found = _things(things), parse_id(record_id)
    back = page_of(table, found)
    kind = forms.text(form, "principal_type") or "user"
    values = {
        "principal_type": kind,
        "principal_id": forms.text(form, "team_id" if kind == "team" else "user_id"),
        "actions": [value for value in form.getlist("actions") if isinstance(value, str)],
    }
    labels = {
        "principal_id": page.i18n.gettext("Shared with"),
        "actions": page.i18n.gettext("Rights"),
        "principal_type": page.i18n.gettext("Shared with"),
    }
    with refusals(page.i18n, back):
        data = forms.validated(ShareRequest, values, page.i18n, labels)
        sharing.share(
            page.session,
            actor=page.actor,
            things=table,
            record_id=found,
            principal_type=data.principal_type,
            principal_id=data.principal_id,
            actions=list(data.actions),
        )
    return redirect(page, back, page.i18n.gettext("Shared."))


@router.post("/{things}/{record_id}/shares/revoke")
async def revoke(page: PageDep, things: str, record_id: str, form: FormDep) -> Response:
    """Withdraw every right shared with one user or team."""
    table, found = _things(things), parse_id(record_id)
    back = page_of(table, found)
    principal = forms.record_id(forms.text(form, "principal_id"))
    with refusals(page.i18n, back):
        shares = sharing.list_shares(page.session, actor=page.actor, things=table, record_id=found)
        mine = [item for item in shares if item.principal_id == principal]
        if not mine:
            raise NotFound("No share with this user or team on this record.")
        for item in mine:
            sharing.unshare(
                page.session, actor=page.actor, things=table, record_id=found, share_id=item.id
            )
    return redirect(page, back, page.i18n.gettext("No longer shared."))
