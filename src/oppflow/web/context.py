"""What every page request carries: the unit of work, the signed-in user, the language, CSRF.

Routes ask for :data:`PageDep` (signed in; otherwise the browser goes to the log-in page) or
:data:`VisitorDep` (the log-in page itself). Every POST of the web routers passes
:func:`csrf_guard` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.api.deps import SessionDep, client_address
from oppflow.errors import Unauthorized
from oppflow.models import User
from oppflow.security import service as security_service
from oppflow.security.actor import Actor
from oppflow.security.preferences import valid_time_zone
from oppflow.security.repository import UserRepository
from oppflow.web import security
from oppflow.web.errors import CsrfRefused, LoginRequired
from oppflow.web.i18n import LANGUAGE_COOKIE, TIME_ZONE_COOKIE, I18n, negotiate


@dataclass
class Page:
    """One page request: its session, language, and (once signed in) actor and user."""

    request: Request
    session: Session
    i18n: I18n
    actor_or_none: Actor | None = None
    user: User | None = None
    new_pre_session: str | None = field(default=None, init=False)

    @property
    def actor(self) -> Actor:
        if self.actor_or_none is None:
            raise LoginRequired()
        return self.actor_or_none

    @property
    def csrf(self) -> str:
        """The token every form of this page carries (a pre-session is started if need be)."""
        seed = security.csrf_seed(self.request) or self.new_pre_session
        if seed is None:
            seed = self.new_pre_session = security.new_pre_session()
        return security.csrf_token(seed)

    def _(self, message: str) -> str:
        return self.i18n.gettext(message)


def i18n_of(request: Request) -> I18n:
    language = negotiate(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    return I18n(language)


async def get_i18n(request: Request) -> I18n:
    return i18n_of(request)


I18nDep = Annotated[I18n, Depends(get_i18n)]


async def get_visitor(request: Request, session: SessionDep, i18n: I18nDep) -> Page:
    """A page anyone may open (the log-in page)."""
    return Page(request=request, session=session, i18n=i18n)


def signed_in_page(request: Request, session: Session, i18n: I18n) -> Page:
    """A page for signed-in users: the session cookie names the actor."""
    secret = request.cookies.get(security.SESSION_COOKIE)
    if not secret:
        raise LoginRequired()
    try:
        actor = security_service.authenticate_session(session, secret)
    except Unauthorized:
        raise LoginRequired() from None
    audit.attribute(session, actor.user_id, actor.business_unit_id, client_address(request))
    user = UserRepository(session).get(actor.user_id)
    i18n = preferred_i18n(request, user)
    return Page(request=request, session=session, i18n=i18n, actor_or_none=actor, user=user)


def preferred_i18n(request: Request, user: User) -> I18n:
    """The language (the menu's cookie, else the user's, else the browser's) and the time zone
    (the user's, else the browser's as its script reported it, else UTC)."""
    cookie = request.cookies.get(LANGUAGE_COOKIE) or user.language
    language = negotiate(cookie, request.headers.get("accept-language"))
    browser_zone = valid_time_zone(request.cookies.get(TIME_ZONE_COOKIE))
    return I18n(language, user.time_zone or browser_zone or "UTC")


async def get_page(request: Request, session: SessionDep, i18n: I18nDep) -> Page:
    return signed_in_page(request, session, i18n)


VisitorDep = Annotated[Page, Depends(get_visitor)]
PageDep = Annotated[Page, Depends(get_page)]


async def csrf_guard(request: Request) -> None:
    """Refuse (403) a POST whose form lacks this session's CSRF token."""
    if request.method != "POST":
        return
    if request.headers.get("content-type", "").startswith("multipart/"):
        # Uploads are streamed to the file store, never spooled: the token is in the address.
        submitted: object = request.query_params.get(security.CSRF_FIELD)
    else:
        submitted = (await request.form()).get(security.CSRF_FIELD)
    if not security.csrf_valid(request, submitted):
        raise CsrfRefused()


def web_router() -> APIRouter:
    """A router of pages: out of the API schema, every POST guarded against CSRF."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(csrf_guard)])
