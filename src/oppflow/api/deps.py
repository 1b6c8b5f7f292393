"""Request-scoped dependencies: the unit of work, the caller, If-Match and the language.

Every dependency here is a coroutine, and so is every handler that opens a unit of work: a
request runs on the event loop from its first statement to its commit, without a hand-off to
the thread pool (76 µs each on this project's reference machine, five of them per request
before) and without an ``await`` in between, so one worker has one transaction open at a time
and never waits on a lock that a request of its own holds. Workers give the parallelism
(``oppflow serve --workers``; decision 0010).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Literal, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from oppflow import audit
from oppflow.db import unit_of_work
from oppflow.errors import PreconditionFailed, Unauthorized
from oppflow.models import ApiToken
from oppflow.security import service as security_service
from oppflow.security.actor import Actor

# Requests that change nothing, by HTTP's definition; their unit of work never writes.
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
bearer = HTTPBearer(auto_error=False, description="A token from /api/v1/auth/token or the CLI.")
T = TypeVar("T")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: commit when the endpoint returns, roll back when it raises."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with unit_of_work(factory, read_only=request.method in READING_METHODS) as session:
        request.state.unit = session
        yield session


def run_unit_in_thread(
    request: Request, work: Callable[[Session], T], *, actor: Actor | None = None
) -> Awaitable[T]:
    """``work`` in a unit of work of its own, begun and committed in a worker thread (and
    attributed to ``actor``): for the few requests that must not hold the event loop (a
    password hash costs tens of milliseconds), and never half on the loop, half in a thread,
    which could make a request of this worker wait for a lock that only the loop would
    release."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    address = client_address(request)
    release_request_transaction(request)

    def unit() -> T:
        with unit_of_work(factory) as session:
            if actor is not None:
                audit.attribute(session, actor.user_id, actor.business_unit_id, address)
            return work(session)

    return run_in_threadpool(unit)


def run_log_in(
    request: Request, *, username: str, password: str, kind: Literal["access", "session"]
) -> Awaitable[tuple[str, ApiToken]]:
    """A log-in in a worker thread, in three steps so that no write lock is held while the
    password is hashed: the user and the throttle read in a read-only unit of work, the
    password checked with no transaction open, then the outcome written (a token, or a
    counted failure) in a short unit of work that checks the throttle again. A refusal is
    raised once its failure is committed."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    address = client_address(request)
    release_request_transaction(request)

    def attempt() -> tuple[str, ApiToken]:
        with unit_of_work(factory, read_only=True) as session:
            started = security_service.begin_log_in(session, username=username, address=address)
        valid = security_service.password_matches(started, password)
        with unit_of_work(factory) as session:
            audit.attribute(session, None, None, address)
            outcome = security_service.finish_log_in(session, started, valid=valid, kind=kind)
        return outcome.token()

    return run_in_threadpool(attempt)


def release_request_transaction(request: Request) -> None:
    """End the transaction the request's own unit holds (it has only read the caller and
    checked its rights) before the request waits: for a thread's unit of work, or for a body
    that arrives slowly. On SQLite a writer's transaction holds the write lock from its first
    statement, and nobody else may write while it waits; the next statement begins anew."""
    held: Session | None = getattr(request.state, "unit", None)
    if held is not None and held.in_transaction():
        held.commit()


# scope="function" runs the commit before the response is sent, so a client never reads
# a response whose changes are not yet visible, and a failed commit still becomes an error.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def get_actor(
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
