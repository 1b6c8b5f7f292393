"""``oppflow import`` on an SQLite database: rows created through the sales services."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import get_engine, make_engine, session_factory
from oppflow.install import prepare_database
from oppflow.models import Account
from tests.helpers import create_user

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker]:  # type: ignore[type-arg]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    prepare_database(engine)
    factory = sessionmaker(bind=engine)
    create_user(factory, "alice")
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", url)
    monkeypatch.setenv("OPPFLOW_USER", "alice")
    caches = (get_settings, get_engine, session_factory)
    for cache in caches:
        cache.cache_clear()
    yield factory
    get_engine().dispose()
    engine.dispose()
    for cache in caches:
        cache.cache_clear()


def account_names(factory: sessionmaker) -> list[str]:  # type: ignore[type-arg]
    with factory() as session:
        return sorted(session.scalars(select(Account.name)))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_good_rows_are_created_and_refused_rows_reported(
    database: sessionmaker,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path / "accounts.csv",
        "Account Name;emailaddress1;address1_city;Colour\n"
        "Fabrikam;info@fabrikam.example;Lyon;red\n"
        "Contoso;not an e-mail;Paris;blue\n"
        ";x@y.example;Nice;green\n",
    )
    report = tmp_path / "report.csv"
    result = runner.invoke(app, ["import", "accounts", str(source), "--report", str(report)])
    assert result.exit_code == 2, result.output
    assert "created 1 accounts, 0 already imported, refused 2 rows" in result.stdout
    assert "ignored columns: Colour" in result.stderr
    assert account_names(database) == ["Fabrikam"]
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [(row["row"], row["column"], row["value"]) for row in rows] == [
        ("2", "email", "not an e-mail"),
        ("3", "name", ""),
    ]


def test_dry_run_creates_nothing(database: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    source = write(tmp_path / "accounts.jsonl", '{"name": "Fabrikam"}\n{"name": "Contoso"}\n')
    result = runner.invoke(app, ["import", "accounts", str(source), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would create 2 accounts" in result.stdout
    assert account_names(database) == []
    result = runner.invoke(app, ["import", "accounts", str(source)])
    assert result.exit_code == 0, result.output
    assert account_names(database) == ["Contoso", "Fabrikam"]
    with database() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 2


def test_unreadable_files_and_tables_are_one_line(database: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    source = write(tmp_path / "broken.jsonl", '{"name": \n')
    result = runner.invoke(app, ["import", "accounts", str(source)])
    assert result.exit_code == 1
    assert "line 1 is not JSON" in result.stderr
    result = runner.invoke(app, ["import", "users", str(source)])
    assert result.exit_code == 1
    assert "cannot import 'users'" in result.stderr


def test_importing_twice_creates_nothing_new(database: sessionmaker, tmp_path: Path) -> None:  # type: ignore[type-arg]
    source = write(tmp_path / "accounts.csv", "accountid,name\nA-1,Fabrikam\nA-2,Contoso\n")
    assert runner.invoke(app, ["import", "accounts", str(source)]).exit_code == 0
    result = runner.invoke(app, ["import", "accounts", str(source)])
    assert result.exit_code == 0, result.output
    assert "created 0 accounts, 2 already imported" in result.stdout
    assert account_names(database) == ["Contoso", "Fabrikam"]
