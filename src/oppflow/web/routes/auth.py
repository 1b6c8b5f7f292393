"""Log-in, log-out and the language setting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from starlette.responses import Response

from oppflow.api.deps import run_log_in
from oppflow.config import get_settings
from oppflow.errors import TooManyRequests, Unauthorized
from oppflow.security import service as security_service
from oppflow.web import security
from oppflow.web.context import VisitorDep, web_router
from oppflow.web.errors import GoBack, describe, with_query
from oppflow.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from oppflow.web.render import redirect, render, safe_next

router = web_router()
Next = Annotated[str, Form(max_length=2000)]
YEAR = 365 * 24 * 3600


@router.get("/login")
async def login_page(
    page: VisitorDep, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """The log-in form."""
    return render(page, "login.html", next=safe_next(next))


@router.post("/login")
async def log_in(
    request: Request,
    page: VisitorDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Next = "/",
) -> Response:
    """Check the password with the API's log-in service and start a session cookie."""
    try:
        secret, _token = await run_log_in(
            request, username=username, password=password, kind="session"
        )
    except (Unauthorized, TooManyRequests) as error:
        back = with_query("/login", next=safe_next(next))
        raise GoBack(back, describe(error, page.i18n), error.status) from error
    response = redirect(page, safe_next(next))
    max_age = get_settings().access_token_minutes * 60
    security.set_cookie(response, request, security.SESSION_COOKIE, secret, max_age=max_age)
    return response


@router.post("/logout")
async def log_out(request: Request, page: VisitorDep) -> Response:
    """End the session: its token is revoked, the cookie deleted."""
    secret = request.cookies.get(security.SESSION_COOKIE)
    if secret:
        security_service.end_session(page.session, secret=secret)
    response = redirect(page, "/login", page.i18n.gettext("You are logged out."), "info")
    security.delete_cookie(response, request, security.SESSION_COOKIE)
    return response


@router.post("/language")
async def choose_language(
    request: Request,
    page: VisitorDep,
    language: Annotated[str, Form(max_length=8)] = "",
    next: Next = "/",
) -> Response:
    """Save the language choice in a cookie (it wins over the browser's languages)."""
    response = redirect(page, safe_next(next))
    if language in LANGUAGES:
        security.set_cookie(response, request, LANGUAGE_COOKIE, language, max_age=YEAR)
    return response
