"""Bring a database to the state the product needs: the schema, then the built-in data."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.db import unit_of_work
from oppflow.process.catalog import ensure_builtin_processes
from oppflow.security.repository import BusinessUnitRepository, SecurityEpochRepository
from oppflow.security.roles import ensure_builtin_roles


def ensure_builtin_data(session: Session) -> None:
    """The security epoch's row, the root business unit, the built-in roles and the built-in
    processes."""
    SecurityEpochRepository(session).ensure_row()
    BusinessUnitRepository(session).root()
    ensure_builtin_roles(session)
    ensure_builtin_processes(session)


def prepare_database(engine: Engine) -> None:
    """Migrate the schema to the latest revision and install or update the built-in data."""
    migrate.upgrade(engine)
    with unit_of_work(sessionmaker(bind=engine)) as session:
        ensure_builtin_data(session)
