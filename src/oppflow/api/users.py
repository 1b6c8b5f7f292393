"""``/api/v1/users``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from oppflow.api.deps import ActorDep, IfMatchDep, SessionDep, run_unit_in_thread, set_etag
from oppflow.api.responses import CHANGE, CREATE, problems
from oppflow.security import organization, service
from oppflow.security.repository import UserRepository
from oppflow.security.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])
# A business unit named in the body that does not exist is a 404.
CREATE_IN_UNIT = {**CREATE, **problems(404)}


@router.get("", responses=problems(401, 403))
async def list_users(session: SessionDep, actor: ActorDep) -> dict[str, list[UserRead]]:
    """Every user of the organisation (to pick owners, team members, shares)."""
    actor.require("user", "read")
    return {"items": [UserRead.model_validate(u) for u in UserRepository(session).list()]}


@router.post("", status_code=status.HTTP_201_CREATED, responses=CREATE_IN_UNIT)
async def create_user(request: Request, actor: ActorDep, data: UserCreate) -> UserRead:
    """Create a user (system administrators only); the password is stored as an argon2 hash."""

    def create(session: Session) -> UserRead:
        return UserRead.model_validate(service.create_user(session, actor=actor, data=data))

    # In a thread: the argon2 hash of the password must not hold the event loop.
    return await run_unit_in_thread(request, create, actor=actor)


@router.get("/{user_id}", responses=problems(401, 403, 404, 422))
async def get_user(
    session: SessionDep, actor: ActorDep, user_id: uuid.UUID, response: Response
) -> UserRead:
    actor.require("user", "read")
    user = UserRepository(session).get(user_id)
    set_etag(response, user.version)
    return UserRead.model_validate(user)


@router.patch("/{user_id}", responses=CHANGE)
async def update_user(
    request: Request,
    actor: ActorDep,
    user_id: uuid.UUID,
    data: UserUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> UserRead:
    """Change a user's profile, business unit, manager, roles or password, or disable them
    (``is_active: false``: they can no longer log in and their tokens stop working)."""

    def update(session: Session) -> UserRead:
        user = organization.update_user(
            session, actor=actor, user_id=user_id, data=data, if_match=if_match
        )
        return UserRead.model_validate(user)

    # In a thread: a new password's argon2 hash must not hold the event loop.
    user = await run_unit_in_thread(request, update, actor=actor)
    set_etag(response, user.version)
    return user
