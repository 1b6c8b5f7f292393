"""Plain helpers for tests: users, log-ins and records, made through the product itself."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.app import create_app
from oppflow.db import unit_of_work
from oppflow.security import organization
from oppflow.security import service as security_service
from oppflow.security.repository import BusinessUnitRepository
from oppflow.security.schemas import BusinessUnitCreate, UserCreate

PASSWORD = "correct-horse-9"


@cache
def openapi() -> dict[str, Any]:
    """The application's OpenAPI document, made once per test process (about 1.4 s each time):
    read it, never change it."""
    return create_app(sessionmaker()).openapi()


def create_user(
    factory: sessionmaker[Session], username: str = "alice", *, roles: list[str] | None = None
) -> str:
    """Create a user with the test password; returns its id."""
    with unit_of_work(factory) as session:
        user = security_service.create_user(
            session,
            actor=None,
            data=UserCreate(
                username=username,
                full_name=username.title(),
                password=PASSWORD,
                roles=roles or ["salesperson"],
            ),
        )
        return str(user.id)


def login(client: TestClient, username: str = "alice") -> dict[str, str]:
    """Authorization headers for ``username`` (log-in through the API)."""
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def signed_in(
    client: TestClient,
    factory: sessionmaker[Session],
    username: str = "alice",
    roles: list[str] | None = None,
) -> dict[str, str]:
    create_user(factory, username, roles=roles)
    return login(client, username)


def create(client: TestClient, headers: dict[str, str], things: str, **fields: Any) -> Any:
    """POST a record and return its JSON (asserting 201)."""
    answer = client.post(f"/api/v1/{things}", json=fields, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def create_opportunity(client: TestClient, headers: dict[str, str], **fields: Any) -> Any:
    fields.setdefault("name", "50 laptops for Contoso")
    return create(client, headers, "opportunities", **fields)


def qualify_fields(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """An account and a contact, as the Qualify stage's required steps need them."""
    account = create(client, headers, "accounts", name="Contoso")
    contact = create(client, headers, "contacts", last_name="Doe", account_id=account["id"])
    return {"account_id": account["id"], "contact_id": contact["id"]}


def create_lead(client: TestClient, headers: dict[str, str], **fields: Any) -> Any:
    fields.setdefault("topic", "50 laptops for the new office")
    return create(client, headers, "leads", **fields)


def user_in_unit(
    client: TestClient,
    factory: sessionmaker[Session],
    username: str,
    unit: str,
    roles: list[str] | None = None,
) -> dict[str, str]:
    """Log-in headers of a new user in business unit ``unit`` (made under the root if new)."""
    with unit_of_work(factory) as session:
        found = BusinessUnitRepository(session).find_by_name(unit)
        if found is None:
            root = BusinessUnitRepository(session).root()
            found = organization.create_business_unit(
                session, actor=None, data=BusinessUnitCreate(name=unit, parent_id=root.id)
            )
        security_service.create_user(
            session,
            actor=None,
            data=UserCreate(
                username=username,
                full_name=username.title(),
                password=PASSWORD,
                business_unit_id=found.id,
                roles=roles or ["salesperson"],
            ),
        )
    return login(client, username)
