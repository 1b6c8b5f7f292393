"""Pydantic shapes of users and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from oppflow.schemas import JsonBool, Strict, visible
from oppflow.security.passwords import MIN_LENGTH

# The length rules of passwords.check_password_rules (its letters-and-digits rule stays there).
Password = Annotated[str, Field(min_length=MIN_LENGTH, max_length=256)]
RoleKey = Literal["salesperson", "sales-manager", "system-administrator"]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
]


class UserCreate(Strict):
    username: Username
    full_name: Annotated[
        str,
        visible(160),
    ]
    email: EmailStr | None = None
    password: Password | None = None
    business_unit_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    roles: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default=["salesperson"], max_length=20
    )
    is_active: JsonBool = True


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


class UserUpdate(Strict):
    full_name: (
        Annotated[
            str,
            visible(160),
        ]
        | None
    ) = None
    email: EmailStr | None = None
    password: Password | None = None
    business_unit_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    roles: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        default=None, max_length=20
    )
    is_active: JsonBool | None = None


class BusinessUnitCreate(Strict):
    name: Annotated[
        str,
        visible(160),
    ]
    parent_id: uuid.UUID | None = None


class BusinessUnitUpdate(Strict):
    name: (
        Annotated[
            str,
            visible(160),
        ]
        | None
    ) = None
    parent_id: uuid.UUID | None = None


class BusinessUnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    version: int


class TeamCreate(Strict):
    name: Annotated[
        str,
        visible(160),
    ]
    business_unit_id: uuid.UUID | None = None
    member_ids: list[uuid.UUID] = Field(default=[], max_length=500)
    roles: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default=[], max_length=20)


class TeamUpdate(Strict):
    name: (
        Annotated[
            str,
            visible(160),
        ]
        | None
    ) = None
    member_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    roles: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        default=None, max_length=20
    )


class TeamRead(BaseModel):
    id: uuid.UUID
    name: str
    business_unit_id: uuid.UUID
    member_ids: list[uuid.UUID]
    roles: list[str]
    version: int


DepthName = Literal["none", "user", "business_unit", "parent_child", "organization"]
TableName = Literal[
    "account", "contact", "lead", "opportunity", "competitor", "file",
    "process", "user", "role", "business_unit", "team", "audit",
]  # fmt: skip
ActionName = Literal["create", "read", "write", "delete", "assign", "share", "append"]
PrivilegeTable = dict[TableName, dict[ActionName, DepthName]]


class RoleCreate(Strict):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
    name: Annotated[
        str,
        visible(120),
    ]
    privileges: PrivilegeTable = Field(default={})


class RoleUpdate(Strict):
    name: (
        Annotated[
            str,
            visible(120),
        ]
        | None
    ) = None
    privileges: PrivilegeTable | None = None


class RoleRead(BaseModel):
    key: str
    name: str
    is_builtin: bool
    privileges: dict[str, dict[str, str]]


class AssignRequest(Strict):
    owner_id: uuid.UUID


class ShareRequest(Strict):
    principal_type: Literal["user", "team"]
    principal_id: uuid.UUID
    actions: list[ActionName] = Field(min_length=1, max_length=7)


class ShareRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    principal_type: str
    principal_id: uuid.UUID
    action: str
    created_at: datetime


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    address: str | None
    action: str
    table_name: str | None
    record_id: uuid.UUID | None
    subject: str | None
    changes: dict[str, Any]


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
