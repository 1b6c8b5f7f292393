"""Records for the web tests, made through the services (as the pages make them), and the
log-in of a test client through the log-in page."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.leads import service as lead_service
from oppflow.leads.schemas import LeadCreate
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import AccountCreate, CompetitorCreate, ContactCreate, OpportunityCreate
from oppflow.security import organization
from oppflow.security import service as security_service
from oppflow.security.repository import BusinessUnitRepository
from oppflow.security.schemas import BusinessUnitCreate, UserCreate

PASSWORD = "correct-horse-9"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')

Factory = sessionmaker[Session]


def make_user(
    factory: Factory, username: str, roles: list[str] | None = None, unit: str | None = None
) -> uuid.UUID:
    """A user with the test password, in business unit ``unit`` (made under the root)."""
    with unit_of_work(factory) as session:
        units = BusinessUnitRepository(session)
        found = units.find_by_name(unit) if unit else units.root()
        if found is None:
            data = BusinessUnitCreate(name=unit or "", parent_id=units.root().id)
            found = organization.create_business_unit(session, actor=None, data=data)
        user = security_service.create_user(
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
        return user.id


def make_customer(
    factory: Factory, username: str, account: str, contact: str
) -> tuple[uuid.UUID, uuid.UUID]:
    """An account and one of its contacts, owned by ``username``."""
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        made = sales_service.create_account(session, actor=actor, data=AccountCreate(name=account))
        first, _, last = contact.rpartition(" ")
        person = sales_service.create_contact(
            session,
            actor=actor,
            data=ContactCreate(first_name=first or None, last_name=last, account_id=made.id),
        )
        return made.id, person.id


def make_opportunity(factory: Factory, username: str, **fields: Any) -> uuid.UUID:
    fields.setdefault("name", "50 laptops for Contoso")
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        data = OpportunityCreate(**fields)
        return sales_service.create_opportunity(session, actor=actor, data=data).id


def make_competitor(factory: Factory, username: str, name: str) -> uuid.UUID:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        data = CompetitorCreate(name=name, strengths="Price", weaknesses="Support")
        return sales_service.create_competitor(session, actor=actor, data=data).id


def make_lead(factory: Factory, username: str, **fields: Any) -> uuid.UUID:
    fields.setdefault("topic", "Interest in 40 tablets")
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        return lead_service.create_lead(session, actor=actor, data=LeadCreate(**fields)).id


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def web_login(client: TestClient, username: str) -> str:
    """Log ``client`` in through the log-in page; the CSRF token of its session."""
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    return csrf_of(client.get("/").text)
