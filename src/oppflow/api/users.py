"""``/api/v1/users``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from oppflow.api.deps import ActorDep, SessionDep
from oppflow.security import service
from oppflow.security.repository import UserRepository
from oppflow.security.schemas import UserCreate, UserRead

router = APIRouter(prefix="/users", tags=["users"])


@router.get("")
def list_users(session: SessionDep, actor: ActorDep) -> dict[str, list[UserRead]]:
    """Every user of the organisation (owners must be pickable by everyone)."""
    return {"items": [UserRead.model_validate(u) for u in UserRepository(session).list()]}


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, actor: ActorDep, data: UserCreate) -> UserRead:
    """Create a user (system administrators only); the password is stored as an argon2 hash."""
    return UserRead.model_validate(service.create_user(session, actor=actor, data=data))


@router.get("/{user_id}")
def get_user(session: SessionDep, actor: ActorDep, user_id: uuid.UUID) -> UserRead:
    return UserRead.model_validate(UserRepository(session).get(user_id))
