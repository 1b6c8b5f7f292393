"""Administration of webhooks: subscriptions, their delivery log, Resend; on the services the
API and the CLI use (each checks the administrator role)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.events import webhooks
from oppflow.events.payloads import EVENT_TYPES
from oppflow.events.webhook_schemas import WebhookCreate, WebhookUpdate
from oppflow.web import forms
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

router = web_router()
PATTERNS = ("opportunity.*", "lead.*", "quote.*", *EVENT_TYPES)
LABELS = {"url": "URL", "events": "Events"}


def _common(page: Page) -> dict[str, Any]:
    return {"section": "admin", "admin_tab": "webhooks", "patterns": PATTERNS}


def _listed(form: FormData, name: str) -> list[str] | None:
    """A comma-separated field as a list (None when empty)."""
    items = [part.strip() for part in (forms.text(form, name) or "").split(",")]
    return [item for item in items if item] or None


def _values(form: FormData) -> dict[str, Any]:
    chosen = [e for e in form.getlist("events") if isinstance(e, str) and e]
    return {
        "url": forms.text(form, "url"),
        "events": chosen or None,
        "process_keys": _listed(form, "process_keys"),
        "pipeline_phases": _listed(form, "pipeline_phases"),
        "description": forms.text(form, "description"),
    }


@router.get("/admin/webhooks")
async def webhook_list(page: PageDep) -> Response:
    """Every subscription; a disabled one says why (the notice of repeated failures)."""
    items = webhooks.list_all(page.session, actor=page.actor)
    return render(page, "admin/webhooks.html", items=items, **_common(page))


@router.post("/admin/webhooks")
async def create_webhook(page: PageDep, form: FormDep) -> Response:
    """Create, then show the secret this once (a page, not a redirect: it is never stored in
    a cookie or shown again)."""
    with refusals(page.i18n, "/admin/webhooks"):
        data = forms.validated(WebhookCreate, _values(form), page.i18n, LABELS)
        created = webhooks.create(page.session, actor=page.actor, data=data)
    return _detail(page, created.id, secret=created.secret, status=201)


def _detail(page: Page, subscription_id: Any, **extra: Any) -> Response:
    status = extra.pop("status", 200)
    return render(
        page,
        "admin/webhook.html",
        status=status,
        webhook=webhooks.get(page.session, actor=page.actor, subscription_id=subscription_id),
        deliveries=webhooks.deliveries(
            page.session, actor=page.actor, subscription_id=subscription_id, limit=50
        ),
        **extra,
        **_common(page),
    )


@router.get("/admin/webhooks/{subscription_id}")
async def webhook_page(page: PageDep, subscription_id: str) -> Response:
    """One subscription and its last 50 deliveries, each with its attempts."""
    return _detail(page, parse_id(subscription_id))


@router.post("/admin/webhooks/{subscription_id}")
async def update_webhook(page: PageDep, subscription_id: str, form: FormDep) -> Response:
    record_id = parse_id(subscription_id)
    back = f"/admin/webhooks/{record_id}"
    values = {k: v for k, v in _values(form).items() if v is not None}
    if forms.text(form, "enabled") is not None:
        values["enabled"] = forms.flag(form, "enabled")
    with refusals(page.i18n, back):
        data = forms.validated(WebhookUpdate, values, page.i18n, LABELS)
        webhooks.update(page.session, actor=page.actor, subscription_id=record_id, data=data)
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.post("/admin/webhooks/{subscription_id}/delete")
async def delete_webhook(page: PageDep, subscription_id: str) -> Response:
    with refusals(page.i18n, "/admin/webhooks"):
        webhooks.delete(page.session, actor=page.actor, subscription_id=parse_id(subscription_id))
    return redirect(page, "/admin/webhooks", page.i18n.gettext("Deleted."))


@router.post("/admin/webhooks/{subscription_id}/deliveries/{delivery_id}/resend")
async def resend_delivery(page: PageDep, subscription_id: str, delivery_id: str) -> Response:
    record_id = parse_id(subscription_id)
    back = f"/admin/webhooks/{record_id}"
    with refusals(page.i18n, back):
        webhooks.resend(
            page.session,
            actor=page.actor,
            subscription_id=record_id,
            delivery_id=parse_id(delivery_id),
        )
    return redirect(page, back, page.i18n.gettext("It will be sent again."))
