"""Mount the web pages on the application: routers, static files, headers and error pages.

The API keeps its problem+json answers; the handlers installed here answer HTML (or JSON to the
pages' own scripts) for every path that is not part of the API.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response

from oppflow.db import unit_of_work
from oppflow.errors import NotFound, OppflowError, PermissionDenied, Unauthorized
from oppflow.web import routes
from oppflow.web.context import Page, i18n_of, signed_in_page
from oppflow.web.errors import (
    RACES,
    CsrfRefused,
    GoBack,
    LoginRequired,
    describe,
    is_refusal,
    status_of,
)
from oppflow.web.render import ENV, is_fetch, redirect, render, set_flash
from oppflow.web.security import SecurityHeaders

log = logging.getLogger("oppflow.web")
STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/static/")

Handler = Callable[[Request, Any], Awaitable[Response]]


def mount(app: FastAPI) -> None:
    """Add the web pages to ``app`` (after the API, whose error handlers it wraps)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in routes.ROUTERS:
        app.include_router(router)
    _wrap(app, LoginRequired, _login_required)
    _wrap(app, CsrfRefused, _csrf_refused)
    _wrap(app, GoBack, _go_back)
    for error in (OppflowError, RequestValidationError, HTTPException, *RACES, Exception):
        _wrap(app, error, _error_page)
    app.add_middleware(SecurityHeaders)


def is_web(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def _wrap(app: FastAPI, error: type[Exception], web_handler: Handler) -> None:
    """Answer ``error`` with ``web_handler`` on web paths, with the API's handler elsewhere."""
    api_handler = app.exception_handlers.get(error)

    async def handler(request: Request, exc: Exception) -> Response:
        if is_web(request) or api_handler is None:
            return await web_handler(request, exc)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(error, handler)


async def _login_required(request: Request, _error: Exception) -> Response:
    if is_fetch(request):
        return JSONResponse({"ok": False, "message": "Log in again."}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or target.startswith("/logout"):
        target = "/"
    response = RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
    return response


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


async def _csrf_refused(request: Request, _error: Exception) -> Response:
    i18n = i18n_of(request)
    message = i18n.gettext(
        "This form has expired or did not come from oppflow. Reload the page and try again."
    )
    return _page_or_json(request, 403, i18n.gettext("Form refused"), message)


async def _go_back(request: Request, error: GoBack) -> Response:
    if is_fetch(request):
        body = {"ok": False, "message": error.message, "missing_steps": error.missing}
        return JSONResponse(body, status_code=error.status)
    response = RedirectResponse(error.url, status_code=303)
    set_flash(response, request, error.message, "error")
    return response


async def _error_page(request: Request, error: Exception) -> Response:
    if isinstance(error, Unauthorized):
        return await _login_required(request, error)
    status, title, message = _explain(request, error)
    return _page_or_json(request, status, title, message)


def _explain(request: Request, error: Exception) -> tuple[int, str, str]:
    i18n = i18n_of(request)
    missing = isinstance(error, HTTPException) and error.status_code == 404
    if isinstance(error, NotFound) or missing:
        return 404, i18n.gettext("Not found"), describe(NotFound(""), i18n)
    if isinstance(error, PermissionDenied):
        return 403, i18n.gettext("Not allowed"), describe(error, i18n)
    if isinstance(error, HTTPException):
        return error.status_code, i18n.gettext("Request refused"), str(error.detail)
    if isinstance(error, RequestValidationError):
        return 400, i18n.gettext("Request refused"), i18n.gettext("Some values are not valid.")
    if is_refusal(error):
        return status_of(error), i18n.gettext("Request refused"), describe(error, i18n)
    log.exception("unexpected error on %s", request.url.path, exc_info=error)
    return 500, i18n.gettext("Something went wrong"), describe(error, i18n)


def _page_or_json(request: Request, status: int, title: str, message: str) -> Response:
    if is_fetch(request):
        return JSONResponse({"ok": False, "message": message}, status_code=status)
    page = _error_page_context(request)
    if page is None:
        html = ENV.get_template("error.html").render(
            i18n=i18n_of(request),
            page=None,
            csrf=None,
            user=None,
            flash=None,
            status=status,
            title=title,
            message=message,
        )
        return Response(html, status_code=status, media_type="text/html")
    return render(page, "error.html", status=status, title=title, message=message)


def _error_page_context(request: Request) -> Page | None:
    """The signed-in user, read in a unit of work of its own (the request's has rolled back),
    so an error page keeps the navigation; None when that is not possible."""
    try:
        with unit_of_work(request.app.state.session_factory, read_only=True) as session:
            page = signed_in_page(request, session, i18n_of(request))
            session.expunge_all()
            return page
    except Exception:  # an error page must render whatever happened
        return None


__all__ = ["is_web", "mount", "redirect"]
