"""``oppflow export`` on an SQLite database: stdout or a file, CSV or JSON lines, filters, and one
line with a non-zero exit for what it cannot export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import get_engine, make_engine, session_factory, unit_of_work
from oppflow.install import prepare_database
from oppflow.sales import service
from oppflow.sales.schemas import AccountCreate
from oppflow.security import service as security_service
from tests.helpers import create_user

runner = CliRunner()
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    prepare_database(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    for username in ("alice", "bob"):
        create_user(factory, username, roles=["sales-manager"])
        with unit_of_work(factory) as session:
            actor = security_service.actor_by_username(session, username)
            for name in (f"{username}'s", FORMULA):
                service.create_account(session, actor=actor, data=AccountCreate(name=name))
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


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_on_stdout_with_formulas_neutralised(database: sessionmaker[Session]) -> None:
    result = runner.invoke(app, ["export", "accounts"])
    assert result.exit_code == 0, result.output
    names = sorted(row["name"] for row in rows(result.stdout))
    assert names == ["'" + FORMULA, "'" + FORMULA, "alice's", "bob's"]


def test_json_lines_in_a_file_filtered_by_owner_and_field(
    database: sessionmaker[Session], tmp_path: Path
) -> None:
    target = tmp_path / "mine.jsonl"
    arguments = ["export", "accounts", "--format", "jsonl", "--owner", "alice", "-o", str(target)]
    result = runner.invoke(app, [*arguments, "--filter", f"name={FORMULA}"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    [record] = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert record["name"] == FORMULA


def test_dataverse_names(database: sessionmaker[Session]) -> None:
    result = runner.invoke(app, ["export", "accounts", "--dataverse-names"])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header[:2] == ["accountid", "createdon"]
    assert "_ownerid_value" in header


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["export", "audit"], "No table 'audit' to export"),
        (["export", "accounts", "--filter", "colour=red"], "accounts has no field 'colour'"),
        (["export", "accounts", "--state", "open"], "accounts have no state"),
        (["export", "quotes", "--dataverse-names"], "quotes have no Dataverse names"),
        (["export", "accounts", "--owner", "nobody"], "no user 'nobody'"),
        (["export", "accounts", "--format", "xlsx"], "xlsx"),
    ],
)
def test_what_it_cannot_export_is_one_line_and_a_non_zero_exit(
    database: sessionmaker[Session], arguments: list[str], said: str
) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code != 0
    assert said in result.stderr
    assert result.stdout == ""
