"""``oppflow lead …`` on an SQLite database: thin commands on the lead services."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import get_engine, make_engine, session_factory
from oppflow.install import prepare_database
from tests.helpers import create_user

runner = CliRunner()
UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's configured database: a migrated SQLite file with a salesperson, alice."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    prepare_database(engine)
    create_user(sessionmaker(bind=engine), "alice")
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", url)
    monkeypatch.setenv("OPPFLOW_USER", "alice")
    caches = (get_settings, get_engine, session_factory)
    for cache in caches:
        cache.cache_clear()
    yield
    get_engine().dispose()
    engine.dispose()
    for cache in caches:
        cache.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lead", *args])
    return result.exit_code, result.stdout, result.stderr


def test_create_list_show_qualify(database: None) -> None:
    code, output, _ = run(
        "create",
        "CRM roll-out",
        "--company",
        "Fabrikam Ltd",
        "--last-name",
        "Lopez",
        "--email",
        "dana@fabrikam.example",
        "--value",
        "48000",
        "--source",
        "web",
    )
    assert code == 0, output
    (lead_id,) = re.findall(UUID, output)

    code, output, _ = run("list", "--json")
    assert code == 0, output
    (listed,) = json.loads(output)
    assert (listed["id"], listed["state"], listed["estimated_value"]) == (lead_id, "open", 48000)
    code, output, _ = run("list", "--state", "open")
    assert code == 0
    assert "CRM roll-out" in output

    code, output, _ = run("qualify", lead_id)
    assert code == 0, output
    assert len(re.findall(rf"(account|contact|opportunity): {UUID}", output)) == 3
    code, output, _ = run("show", lead_id)
    assert code == 0, output
    assert json.loads(output)["state"] == "qualified"

    # A second lead for the same company meets the duplicate, named on one line.
    code, output, _ = run("create", "More laptops", "--company", "FABRIKAM, Inc.")
    (second,) = re.findall(UUID, output)
    code, _, error = run("qualify", second)
    assert code == 1
    message = " ".join(error.split())  # one message, which the console wraps at its width
    assert message.startswith("error: Possible duplicates: account Fabrikam Ltd")
    assert message.count("error:") == 1
    code, output, _ = run("qualify", second, "--no-account", "--no-opportunity")
    assert code == 0, output
    assert "opportunity: -" in output


def test_disqualify_reactivate_and_errors(database: None) -> None:
    code, output, _ = run("create", "Printers")
    (lead_id,) = re.findall(UUID, output)
    code, output, _ = run("disqualify", lead_id, "--reason", "cannot_contact")
    assert code == 0, output
    assert "disqualified (cannot_contact)" in output
    code, _, error = run("disqualify", lead_id)
    assert code == 1
    assert "reactivate it" in error
    code, output, _ = run("reactivate", lead_id)
    assert code == 0
    assert "open (new)" in output
    code, _, error = run("disqualify", lead_id, "--reason", "bored")
    assert code == 1
    assert "status_reason" in error
    code, _, error = run("show", "00000000-0000-4000-8000-000000000000")
    assert code == 1
    assert "No lead" in error
    code, _, error = run("create", "x", "--email", "not an e-mail")
    assert code == 1
    assert "email" in error
