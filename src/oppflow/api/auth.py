"""``/api/v1/auth``: log in for a token, see who you are, revoke your token."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from oppflow import audit
from oppflow.api.deps import ActorDep, SessionDep, bearer, client_address
from oppflow.db import unit_of_work
from oppflow.errors import Unauthorized
from oppflow.security import service
from oppflow.security.repository import UserRepository
from oppflow.security.schemas import TokenRead, TokenResponse, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses={
        401: {"description": "Wrong user name or password"},
        429: {"description": "Too many failures; see Retry-After"},
    },
)
def issue_token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> TokenResponse:
    """Exchange a user name and password for a bearer token (OAuth2 password form)."""
    address = client_address(request)
    try:
        secret, token = service.log_in(
            session, username=username, password=password, address=address
        )
    except Unauthorized:
        # This request's unit of work rolls back; the failure must still count.
        with unit_of_work(request.app.state.session_factory) as own:
            audit.attribute(own, None, None, address)
            service.record_failed_log_in(own, username=username, address=address)
        raise
    return TokenResponse(access_token=secret, expires_at=token.expires_at)


@router.get("/me")
def who_am_i(session: SessionDep, actor: ActorDep) -> UserRead:
    """The user the token stands for."""
    return UserRead.model_validate(UserRepository(session).get(actor.user_id))


@router.post("/revoke", status_code=status.HTTP_204_NO_CONTENT)
def revoke(
    session: SessionDep,
    actor: ActorDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Revoke the token this request carries; it answers 401 from now on."""
    assert credentials is not None  # get_actor has refused requests without one
    service.revoke_token(session, secret=credentials.credentials)


@router.get("/tokens")
def list_my_tokens(session: SessionDep, actor: ActorDep) -> dict[str, list[TokenRead]]:
    """Your tokens (log-ins and API tokens), without their secrets."""
    rows = service.tokens_of(session, actor=actor)
    return {"items": [TokenRead.model_validate(t) for t in rows]}


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_token(session: SessionDep, actor: ActorDep, token_id: uuid.UUID) -> None:
    """Revoke one of your tokens."""
    service.revoke_own_token(session, actor=actor, token_id=token_id)
