"""The organisation the security tests run in, and records placed in every position.

Units: the root (the organisation) → West (the actor's unit) → West-Child, and root → East (another
branch). Users: the actor (the role under test) and salespeople around them, plus a system
administrator who sets the scene through the API. A team holds the actor alone and has no roles
of its own, so the actor's privileges are exactly their role's.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import Base, SalesTeamMember
from oppflow.security import organization
from oppflow.security import service as security_service
from oppflow.security.repository import BusinessUnitRepository
from oppflow.security.schemas import BusinessUnitCreate, TeamCreate, UserCreate
from tests.helpers import openapi
from tests.security.expectations import POSITIONS, SHARED_ACTIONS

# The API as it stands: tables and actions without an endpoint are left out of the matrix.
OPENAPI: dict[str, Any] = openapi()
API_PATHS: dict[str, Any] = OPENAPI["paths"]

# name → (business unit, role; None is the role under test)
USERS: dict[str, tuple[str, str | None]] = {
    "actor": ("West", None),
    "colleague": ("West", "salesperson"),
    "bystander": ("West", "salesperson"),
    "child": ("West-Child", "salesperson"),
    "rooter": ("root", "salesperson"),
    "easterner": ("East", "salesperson"),
    "admin": ("root", "system-administrator"),
}
# Who owns the record of each position (shares and the sales team add to the easterner's).
OWNER_OF: dict[str, str] = {
    "own": "actor",
    "same_unit": "colleague",
    "child_unit": "child",
    "parent_unit": "rooter",
    "other_branch": "easterner",
    "shared_with_me": "easterner",
    "shared_with_team": "easterner",
    "sales_team": "easterner",
}
OWNED_THINGS = tuple(
    things
    for things in ("accounts", "contacts", "leads", "opportunities")
    if f"/api/v1/{things}" in API_PATHS
)
TABLE_OF: dict[str, str] = {
    "accounts": "account",
    "contacts": "contact",
    "leads": "lead",
    "opportunities": "opportunity",
}


def api_path(things: str, suffix: str, method: str = "post") -> str | None:
    """The templated path ``/api/v1/{things}/{id}/{suffix}`` if the API has it with ``method``."""
    pattern = re.compile(rf"^/api/v1/{things}/\{{[a-z_]+\}}/{suffix}$")
    for path, methods in API_PATHS.items():
        if pattern.match(path) and method in methods:
            return path
    return None


def positions_of(table: str) -> list[str]:
    """The record positions that exist for a table (the sales team is the opportunity's)."""
    return [p for p in POSITIONS if p != "sales_team" or table == "opportunity"]


@dataclass
class World:
    client: TestClient
    factory: sessionmaker[Session]
    role: str
    users: dict[str, uuid.UUID]
    units: dict[str, uuid.UUID]
    team_id: uuid.UUID
    headers: dict[str, dict[str, str]]
    numbers: itertools.count[int] = field(default_factory=itertools.count)
    # Every record placed, by table: (position, the record as created).
    placed: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    @property
    def actor(self) -> dict[str, str]:
        return self.headers["actor"]

    @property
    def admin(self) -> dict[str, str]:
        return self.headers["admin"]

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.numbers)}"

    def minimal_body(self, things: str, name: str) -> dict[str, Any]:
        """A create body with every required field, read from the OpenAPI schema."""
        schema = API_PATHS[f"/api/v1/{things}"]["post"]["requestBody"]["content"]
        ref = schema["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        component = OPENAPI["components"]["schemas"][ref]
        body: dict[str, Any] = {}
        for required in component.get("required", []):
            body[required] = name if required != "email" else f"{self.unique('x')}@example.com"
        return body

    def create(self, things: str, owner: str, name: str, **fields: Any) -> dict[str, Any]:
        """A record owned by ``owner``, created by the administrator through the API."""
        body = self.minimal_body(things, name) | fields | {"owner_id": str(self.users[owner])}
        answer = self.client.post(f"/api/v1/{things}", json=body, headers=self.admin)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def share(self, things: str, record_id: str, principal: str, actions: list[str]) -> None:
        """The administrator shares a record with a user (or ``team``) for ``actions``."""
        body = {
            "principal_type": "team" if principal == "team" else "user",
            "principal_id": str(self.team_id if principal == "team" else self.users[principal]),
            "actions": actions,
        }
        answer = self.client.post(
            f"/api/v1/{things}/{record_id}/shares", json=body, headers=self.admin
        )
        assert answer.status_code == 201, answer.text

    def add_to_sales_team(self, opportunity_id: str, user: str) -> None:
        path = api_path("opportunities", "sales-team")
        if path is not None:
            answer = self.client.post(
                re.sub(r"\{[a-z_]+\}", opportunity_id, path),
                json={"user_id": str(self.users[user]), "role": "sales_team_member"},
                headers=self.admin,
            )
            assert answer.status_code in (200, 201), answer.text
            return
        with unit_of_work(self.factory) as session:
            session.add(
                SalesTeamMember(opportunity_id=uuid.UUID(opportunity_id), user_id=self.users[user])
            )

    def place(self, things: str, position: str, name: str, **fields: Any) -> dict[str, Any]:
        """A record in ``position`` relative to the actor; returns it as the admin reads it."""
        record = self.create(things, OWNER_OF[position], name, **fields)
        if position == "shared_with_me":
            self.share(things, record["id"], "actor", sorted(SHARED_ACTIONS))
        elif position == "shared_with_team":
            self.share(things, record["id"], "team", sorted(SHARED_ACTIONS))
        elif position == "sales_team":
            self.add_to_sales_team(record["id"], "actor")
        self.placed.setdefault(things, []).append((position, record))
        return record

    def snapshot(self, things: str, ids: list[str]) -> dict[str, tuple[int, str]]:
        """(version, owner id) of each of these records still in the database."""
        table = Base.metadata.tables[things]
        query = select(table.c.id, table.c.version, table.c.owner_id).where(
            table.c.id.in_([uuid.UUID(i) for i in ids])
        )
        with unit_of_work(self.factory) as session:
            rows = session.execute(query).all()
        return {str(row[0]): (row[1], str(row[2])) for row in rows}

    def admin_view(self, things: str, record_id: str) -> dict[str, Any] | None:
        """The record as the administrator sees it, or None when it is gone."""
        answer = self.client.get(f"/api/v1/{things}/{record_id}", headers=self.admin)
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


def build_world(client: TestClient, factory: sessionmaker[Session], role: str) -> World:
    """Units, users, the actor's team and a token for each user, in one unit of work (users
    have no password and get API tokens, which spares the slow password hashing)."""
    with unit_of_work(factory) as session:
        root = BusinessUnitRepository(session).root()
        units = {"root": root.id}
        for name, parent in (("West", "root"), ("West-Child", "West"), ("East", "root")):
            unit = organization.create_business_unit(
                session, actor=None, data=BusinessUnitCreate(name=name, parent_id=units[parent])
            )
            units[name] = unit.id
        users: dict[str, uuid.UUID] = {}
        secrets: dict[str, str] = {}
        for username, (unit_name, user_role) in USERS.items():
            user = security_service.create_user(
                session,
                actor=None,
                data=UserCreate(
                    username=username,
                    full_name=username.title(),
                    business_unit_id=units[unit_name],
                    roles=[user_role or role],
                ),
            )
            users[username] = user.id
            secrets[username], _ = security_service.create_api_token(
                session, username=username, name="security tests"
            )
        team = organization.create_team(
            session,
            actor=None,
            data=TeamCreate(
                name="Actor's team", business_unit_id=units["West"], member_ids=[users["actor"]]
            ),
        )
        team_id = team.id
    return World(
        client=client,
        factory=factory,
        role=role,
        users=users,
        units=units,
        team_id=team_id,
        headers={name: {"Authorization": f"Bearer {secret}"} for name, secret in secrets.items()},
    )
