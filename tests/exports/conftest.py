"""The security suite's organisation (``tests/security/conftest.py``), for exports: one world per
database and role, shared by a module's tests.

Its PostgreSQL schema is this suite's own, named apart from the security suite's, so that both
suites running in one process never drop each other's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from oppflow import migrate
from oppflow.db import make_engine
from tests.conftest import POSTGRES_UP, POSTGRES_URL, SKIP_POSTGRES
from tests.security.conftest import database, world

__all__ = ["database", "security_postgres", "world"]


@pytest.fixture(scope="session")
def security_postgres() -> Iterator[Engine]:
    """A migrated PostgreSQL schema for the worlds of this suite (``world`` asks for it)."""
    if not POSTGRES_UP:
        pytest.skip(SKIP_POSTGRES)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"oppflow_exports_{worker}_{os.getpid()}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()
