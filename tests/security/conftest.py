"""Fixtures of the security suite: one organisation per (database, role), shared by the tests of
a module.

The root conftest's ``client`` gives every test an empty database, which would mean building the
organisation (units, users, teams, tokens) for every table of the matrix. Here a module-scoped
``world`` builds it once per database and role. On PostgreSQL it lives in a schema of its own
(not the one the function-scoped fixtures truncate before every test), so tests of other modules
running in the same worker never empty it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.db import make_engine, unit_of_work
from oppflow.install import ensure_builtin_data
from oppflow.models import Base
from tests.client import AppClient, app_on
from tests.conftest import POSTGRES_UP, POSTGRES_URL, SKIP_POSTGRES
from tests.security.world import World, build_world


def _schema_name() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"oppflow_security_{worker}_{os.getpid()}"


@pytest.fixture(scope="session")
def security_postgres() -> Iterator[Engine]:
    """A migrated PostgreSQL schema used only by the module-scoped worlds of this suite."""
    if not POSTGRES_UP:
        pytest.skip(SKIP_POSTGRES)
    schema = _schema_name()
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


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database(request: pytest.FixtureRequest) -> str:
    """The kind of database of the module's worlds."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest,
    database: str,
    role: str,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """A fresh database holding the organisation, the actor having ``role``."""
    engine: Engine
    if database == "sqlite":
        path = tmp_path_factory.mktemp("world") / "oppflow.db"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = request.getfixturevalue("security_postgres")
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    factory: sessionmaker[Session] = sessionmaker(bind=engine, expire_on_commit=False)
    with unit_of_work(factory) as session:
        ensure_builtin_data(session)
    with app_on(factory) as app, AppClient(app) as client:
        yield build_world(client, factory, role)
    if database == "sqlite":
        engine.dispose()
