"""Templates, flash messages and redirects.

Templates autoescape everything; translations come from the page's :class:`I18n` through the
Jinja i18n extension (``_("…")`` and ``{% trans %}``), formats through filters (``|money``,
``|date``, ``|days``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import Response

from oppflow import __version__
from oppflow.errors import OppflowError
from oppflow.security.privileges import Depth
from oppflow.web import access, lookups, security
from oppflow.web.context import Page
from oppflow.web.errors import describe, missing_steps, with_query
from oppflow.web.i18n import LANGUAGES, N_, I18n
from oppflow.web.pickers import picker_state

FLASH_COOKIE = "oppflow_flash"
FETCH_HEADER = "x-oppflow-fetch"


@pass_context
def _gettext(context: Context, message: str) -> str:
    i18n: I18n = context["i18n"]
    return i18n.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, number: int) -> str:
    i18n: I18n = context["i18n"]
    return i18n.ngettext(singular, plural, number)


def _formatter(name: str) -> Any:
    @pass_context
    def format_value(context: Context, value: Any, *args: Any) -> str:
        return str(getattr(context["i18n"], name)(value, *args))

    return format_value


def _labelled(label: Callable[[Any, I18n], str]) -> Any:
    @pass_context
    def translate(context: Context, value: Any) -> str:
        return label(value, context["i18n"])

    return translate


PROCESS_STATUSES = {
    "active": N_("Active"),
    "finished": N_("Finished"),
    "aborted": N_("Abandoned"),
    "new": N_("Not started"),
}
CHEVRON_STATES = {
    "done": N_("completed"),
    "active": N_("active stage"),
    "finished": N_("process finished"),
    "aborted": N_("process abandoned"),
    "todo": N_("not reached yet"),
}


def _process_status(value: str, i18n: I18n) -> str:
    return i18n.gettext(PROCESS_STATUSES.get(value, value))


def _chevron_state(value: str, i18n: I18n) -> str:
    return i18n.gettext(CHEVRON_STATES.get(value, value))


def plain_number(value: Decimal | int | None) -> str:
    """A number as an ``<input type=number>`` wants it: no grouping, no trailing zeros."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("oppflow.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    for name in ("money", "date", "number"):
        env.filters[name] = _formatter(name)
    env.filters["days"] = _formatter("days_since")
    env.filters["datetime"] = _formatter("timestamp")
    env.filters["ago"] = _formatter("relative")
    env.filters.update(
        choice=_labelled(lookups.choice_label),
        role=_labelled(lookups.role_label),
        lead_state=_labelled(lookups.lead_label),
        lead_reason=_labelled(lookups.lead_label),
        phase=_labelled(lookups.phase_label),
        process_status=_labelled(_process_status),
        chevron_state=_labelled(_chevron_state),
        phase_number=lookups.phase_number,
        plain=plain_number,
        name_of=lookups.name_of,
        right=_labelled(access.right_label),
    )
    env.globals.update(static=static_url, LANGUAGES=LANGUAGES, picker_state=picker_state)
    return env


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


ENV = _environment()


def is_fetch(request: Request) -> bool:
    """A request from the pages' own scripts, which want JSON back."""
    return request.headers.get(FETCH_HEADER) == "1"


def render(page: Page, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``template``, with the flash message of the previous request if any."""
    flash = read_flash(page.request)
    html = ENV.get_template(template).render(
        page=page,
        i18n=page.i18n,
        csrf=page.csrf,
        user=page.user,
        flash=flash,
        nav=navigation(page),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    finish(page, response, clear_flash=flash is not None)
    return response


def navigation(page: Page) -> dict[str, bool]:
    """Which sections of the navigation the signed-in user's roles open."""
    actor = page.actor_or_none
    if actor is None:
        return {}
    return {
        "leads": actor.depth("lead", "read") > Depth.NONE,
        "catalog": actor.depth("product", "read") > Depth.NONE,
        "admin": actor.depth("user", "write") > Depth.NONE
        or actor.depth("process", "write") > Depth.NONE,
    }


def finish(page: Page, response: Response, *, clear_flash: bool = False) -> None:
    """Cookies a response must carry: a new pre-session, a consumed flash message."""
    if page.new_pre_session:
        security.set_cookie(
            response, page.request, security.PRE_SESSION_COOKIE, page.new_pre_session
        )
    if clear_flash:
        security.delete_cookie(response, page.request, FLASH_COOKIE)


def redirect(page: Page, url: str, message: str | None = None, kind: str = "success") -> Response:
    """303 to ``url`` (Post/Redirect/Get), carrying a message to show there."""
    if is_fetch(page.request):
        return JSONResponse({"ok": True, "message": message, "location": url})
    response = RedirectResponse(url, status_code=303)
    if message:
        set_flash(response, page.request, message, kind)
    finish(page, response)
    return response


def refused(page: Page, back: str, error: OppflowError) -> Response:
    """A refusal answered without rolling back: what the request saved before it stays."""
    missing = missing_steps(error)
    url = with_query(back, missing=[step["field"] for step in missing]) if missing else back
    message = describe(error, page.i18n)
    if is_fetch(page.request):
        body = {"ok": False, "message": message, "missing_steps": missing}
        return JSONResponse(body, status_code=error.status)
    return redirect(page, url, message, "error")


def set_flash(response: Response, request: Request, message: str, kind: str) -> None:
    payload = json.dumps({"kind": kind, "text": message[:600]}).encode()
    value = base64.urlsafe_b64encode(payload).decode()
    security.set_cookie(response, request, FLASH_COOKIE, value, max_age=120)


def read_flash(request: Request) -> dict[str, str] | None:
    """The message a redirect left for this page, if any (a forged one is ignored)."""
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(found, dict) or found.get("kind") not in ("success", "error", "info"):
        return None
    return {"kind": str(found["kind"]), "text": str(found.get("text", ""))[:600]}


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to return to; anything that could leave the site becomes ``default``."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    if any(ord(char) < 32 for char in url):
        return default
    return url
