"""Helpers of the import tests: users, files and imports run as a user, through the product."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.imports.mapping import auto_mapping
from oppflow.imports.opportunities import may_backdate
from oppflow.imports.reading import read_rows
from oppflow.imports.service import ImportResult, import_rows
from oppflow.models import Account, Contact
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import AccountCreate, ContactCreate
from oppflow.security import organization
from oppflow.security import service as security_service
from oppflow.security.repository import BusinessUnitRepository
from oppflow.security.schemas import BusinessUnitCreate, UserCreate
from tests.helpers import PASSWORD


def user(
    factory: sessionmaker[Session], username: str, role: str = "salesperson", unit: str = ""
) -> None:
    """A user with ``role``, in business unit ``unit`` (made under the root), else the root."""
    with unit_of_work(factory) as session:
        units = BusinessUnitRepository(session)
        unit_id = None
        if unit:
            found = units.find_by_name(unit) or organization.create_business_unit(
                session, actor=None, data=BusinessUnitCreate(name=unit, parent_id=units.root().id)
            )
            unit_id = found.id
        data = UserCreate(
            username=username,
            full_name=username.title(),
            email=f"{username}@example.com",
            password=PASSWORD,
            business_unit_id=unit_id,
            roles=[role],
        )
        security_service.create_user(session, actor=None, data=data)


def account(factory: sessionmaker[Session], username: str, name: str, **fields: str) -> str:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        data = AccountCreate.model_validate({"name": name})
        made = sales_service.create_account(session, actor=actor, data=data)
        for key, value in fields.items():
            setattr(made, key, value)
        return str(made.id)


def contact(factory: sessionmaker[Session], username: str, last_name: str, email: str) -> str:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        data = ContactCreate.model_validate({"last_name": last_name, "email": email})
        return str(sales_service.create_contact(session, actor=actor, data=data).id)


def run_import(
    factory: sessionmaker[Session],
    username: str,
    table: str,
    path: Path,
    text: str,
    **options: object,
) -> ImportResult:
    """Import ``text`` (written to ``path``) into ``table`` as ``username``, headers auto-mapped."""
    path.write_text(text, encoding="utf-8")
    headers, rows = read_rows(path)
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        mapping = auto_mapping(table, headers, may_backdate=may_backdate(actor))
        return import_rows(session, actor, table, rows, mapping, **options)  # type: ignore[arg-type]


def names(factory: sessionmaker[Session], model: type[Account] | type[Contact]) -> list[str]:
    column = model.name if model is Account else model.last_name  # type: ignore[union-attr]
    with factory() as session:
        return sorted(session.scalars(select(column)))
