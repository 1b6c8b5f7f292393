"""``/api/v1/auth``: log in for a token, see who you are, revoke your token."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from oppflow.api.deps import ActorDep, SessionDep, bearer, run_log_in
from oppflow.api.responses import problem, problems
from oppflow.security import service
from oppflow.security.repository import UserRepository
from oppflow.security.schemas import TokenRead, TokenResponse, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses={
        **problems(400, 409, 422),
        401: problem(401, "Wrong user name or password, or a disabled user."),
        429: problem(429, "Too many failures for this user name or address; see Retry-After."),
    },
)
async def issue_token(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
) -> TokenResponse:
    """Exchange a user name and password for a bearer token (OAuth2 password form)."""
    secret, token = await run_log_in(request, username=username, password=password, kind="access")
    return TokenResponse(access_token=secret, expires_at=token.expires_at)


@router.get("/me", responses=problems(401))
async def who_am_i(session: SessionDep, actor: ActorDep) -> UserRead:
    """The user the token stands for."""
    return UserRead.model_validate(UserRepository(session).get(actor.user_id))


@router.post("/revoke", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 409))
async def revoke(
    session: SessionDep,
    actor: ActorDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Revoke the token this request carries; it answers 401 from now on."""
    assert credentials is not None  # get_actor has refused requests without one
    service.revoke_token(session, secret=credentials.credentials)


@router.get("/tokens", responses=problems(401))
async def list_my_tokens(session: SessionDep, actor: ActorDep) -> dict[str, list[TokenRead]]:
    """Your tokens (log-ins and API tokens), without their secrets."""
    rows = service.tokens_of(session, actor=actor)
    return {"items": [TokenRead.model_validate(t) for t in rows]}


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 404, 409, 422),
)
async def revoke_my_token(session: SessionDep, actor: ActorDep, token_id: uuid.UUID) -> None:
    """Revoke one of your tokens."""
    service.revoke_own_token(session, actor=actor, token_id=token_id)
