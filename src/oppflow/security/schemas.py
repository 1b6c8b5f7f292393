"""Pydantic shapes of users and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from oppflow.schemas import Strict

RoleKey = Literal["salesperson", "sales-manager", "system-administrator"]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
]


class UserCreate(Strict):
    username: Username
    full_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)
    ]
    email: EmailStr | None = None
    password: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    business_unit_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    roles: list[RoleKey] = Field(default=["salesperson"], max_length=3)
    is_active: bool = True


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    email: str | None
    business_unit_id: uuid.UUID
    manager_id: uuid.UUID | None
    roles: list[str] = Field(validation_alias="role_keys")
    is_active: bool
    created_at: datetime
    version: int


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
