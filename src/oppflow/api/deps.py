"""Request-scoped dependencies: the unit of work, the caller, If-Match and the language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from oppflow import audit
from oppflow.db import unit_of_work
from oppflow.errors import PreconditionFailed, Unauthorized
from oppflow.security import service as security_service
from oppflow.security.actor import Actor

bearer = HTTPBearer(auto_error=False, description="A token from /api/v1/auth/token or the CLI.")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: commit when the endpoint returns, roll back when it raises."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with unit_of_work(factory) as session:
        yield session


# scope="function" runs the commit before the response is sent, so a client never reads
# a response whose changes are not yet visible, and a failed commit still becomes an error.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def get_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The caller, from the bearer token; every change of this request is attributed to them."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send 'Authorization: Bearer <token>'.")
    actor = security_service.authenticate(session, credentials.credentials)
    audit.attribute(session, actor.user_id, actor.business_unit_id, client_address(request))
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


# No I/O in the two below: as coroutines they skip FastAPI's hand-off to a worker thread.
async def get_if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """The version an If-Match header names; one that names no version can never match."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match.strip())
    if found is None:
        raise PreconditionFailed(f"If-Match {if_match[:40]!r} names no version of this record.")
    return int(found.group(1))


IfMatchDep = Annotated[int | None, Depends(get_if_match)]


async def get_language(accept_language: Annotated[str | None, Header()] = None) -> str:
    """French when the caller prefers it, else English."""
    if accept_language and accept_language.strip().lower().startswith("fr"):
        return "fr"
    return "en"


LanguageDep = Annotated[str, Depends(get_language)]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'
