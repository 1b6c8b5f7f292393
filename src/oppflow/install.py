"""Bring a database to the state the product needs: the schema, then the built-in processes."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from oppflow import migrate
from oppflow.db import unit_of_work
from oppflow.process.catalog import ensure_builtin_processes


def prepare_database(engine: Engine) -> None:
    """Migrate the schema to the latest revision and install or update the built-in processes."""
    migrate.upgrade(engine)
    with unit_of_work(sessionmaker(bind=engine)) as session:
        ensure_builtin_processes(session)
