"""The CLI and a busy database: commands that only read run while another connection holds
the write lock (on SQLite a writer's transaction holds it from its first statement), and a
command that cannot get a lock in time, or cannot reach the database at all, ends with one
line and a non-zero exit, not a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.console import BUSY
from oppflow.db import READ_ONLY, get_engine, session_factory, unit_of_work
from oppflow.models import SecurityEpoch
from tests.conftest import POSTGRES_UP, POSTGRES_URL
from tests.helpers import create_user

runner = CliRunner()

READING = [
    ["user", "list"],
    ["process", "list"],
    ["process", "show", "opportunity-sales-process"],
    ["process", "export", "opportunity-sales-process"],
    ["opportunity", "list"],
    ["lead", "list"],
    ["product", "list"],
    ["price-list", "list"],
    ["quote", "list"],
    ["report", "funnel"],
    ["report", "stale"],
    ["export", "opportunities"],
    ["business-unit", "list"],
    ["team", "list"],
    ["role", "list"],
    ["role", "show", "salesperson"],
    ["audit"],
    ["webhooks", "list"],
]


@pytest.fixture
def configured(
    engine: Engine, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    """The CLI's database is the test database, with an administrator, root."""
    create_user(factory, "root", roles=["system-administrator"])
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPPFLOW_USER", "root")
    _forget_settings()
    yield factory
    get_engine().dispose()
    _forget_settings()


def _forget_settings() -> None:
    """The next command reads the environment again, into a new engine."""
    for cache in (get_settings, get_engine, session_factory):
        cache.cache_clear()


@pytest.fixture
def writing(configured: sessionmaker[Session]) -> Iterator[Session]:
    """Another connection in the middle of a write (on SQLite it holds the write lock)."""
    with unit_of_work(configured) as session:
        session.execute(update(SecurityEpoch).values(value=SecurityEpoch.value + 1))
        yield session


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_a_reading_command_runs_while_another_connection_writes(
    writing: Session, command: list[str]
) -> None:
    result = runner.invoke(app, command)
    # each failed as "database is locked" (a traceback) after the busy timeout
    assert result.exit_code == 0, result.output + repr(result.exception)


def test_a_locked_database_is_one_line_and_a_non_zero_exit(
    writing: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command gives up after OPPFLOW_LOCK_TIMEOUT_SECONDS, not the default five.
    monkeypatch.setenv("OPPFLOW_LOCK_TIMEOUT_SECONDS", "0.3")
    _forget_settings()
    if writing.get_bind().dialect.name == "postgresql":
        # PostgreSQL locks rows and tables, not the database: take the one the command needs
        writing.execute(text("LOCK TABLE business_units IN ACCESS EXCLUSIVE MODE"))
    result = runner.invoke(app, ["business-unit", "create", "Lyon"])
    assert result.exit_code == 1, repr(result.exception)
    assert result.stderr == f"error: {BUSY}\n"
    assert "Traceback" not in result.output
    assert _lock_timeout_ms(get_engine()) == 300


def _lock_timeout_ms(engine: Engine) -> int:
    """How long the engine's statements wait for a lock."""
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})  # SQLite: no write lock to wait for
        if engine.dialect.name == "postgresql":
            shown = "SELECT setting FROM pg_settings WHERE name = 'lock_timeout'"
        else:
            shown = "PRAGMA busy_timeout"
        return int(connection.exec_driver_sql(shown).scalar_one())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite:///{tmp}/no such directory/oppflow.db", "unable to open database file"),
        ("postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test", "Connection refused"),
        # The driver's words are printed as they are, brackets and all (not as Rich markup).
        pytest.param(
            f"{POSTGRES_URL.rsplit('/', 1)[0]}/no[/such]",
            'database "no[/such]" does not exist',
            marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_UP, reason="down")],
        ),
    ],
    ids=["sqlite", "postgresql", "postgresql-brackets"],
)
def test_a_database_that_cannot_be_reached_is_one_line_and_a_non_zero_exit(
    url: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _list_opportunities_on(url.format(tmp=tmp_path), monkeypatch)
    assert result.exit_code == 1, repr(result.exception)
    assert result.stderr.startswith("error: the database failed: ")
    assert reason in result.stderr
    assert result.stderr.count("\n") == 1
    assert "s3cret" not in result.output


def test_a_file_that_is_not_a_database_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "oppflow.db"
    path.write_text("Quarterly pipeline review, draft.\n" * 200, encoding="utf-8")
    result = _list_opportunities_on(f"sqlite:///{path}", monkeypatch)
    assert result.exit_code == 1, repr(result.exception)
    assert result.stderr == "error: the database failed: file is not a database\n"


def _list_opportunities_on(url: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    """``oppflow opportunity list`` with ``url`` as the database."""
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", url)
    monkeypatch.setenv("OPPFLOW_USER", "root")
    _forget_settings()
    try:
        return runner.invoke(app, ["opportunity", "list"])
    finally:
        get_engine().dispose()
        _forget_settings()
