"""``oppflow import … --resume`` and the CLI's refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import get_engine, session_factory, unit_of_work
from oppflow.imports import runs
from oppflow.imports.mapping import auto_mapping
from oppflow.imports.reading import read_rows
from oppflow.imports.service import import_rows
from oppflow.models import ImportRun, Opportunity
from oppflow.security.service import actor_by_username
from tests.imports.support import user
from tests.served import database_url

runner = CliRunner()


@pytest.fixture
def cli(
    factory: sessionmaker[Session], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    """The CLI on the test database (the factory's), acting as alice unless told otherwise."""
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", database_url(engine))
    monkeypatch.setenv("OPPFLOW_USER", "alice")
    caches = (get_settings, get_engine, session_factory)
    for cache in caches:
        cache.cache_clear()
    user(factory, "alice")
    yield factory
    get_engine().dispose()
    for cache in caches:
        cache.cache_clear()


class Stopped(Exception):
    """Stands for the process dying mid-batch."""


def _interrupted(factory: sessionmaker[Session], path: Path, after: int, batch: int) -> None:
    """Import ``path`` as the CLI does, stopping when row ``after`` is done."""

    def stop(number: int) -> None:
        if number == after:
            raise Stopped

    with pytest.raises(Stopped):
        _import(factory, path, stop, batch)


def _import(
    factory: sessionmaker[Session], path: Path, on_row: Callable[[int], None], batch: int
) -> None:
    headers, rows = read_rows(path)
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        run = runs.begin(session, actor, "opportunities", path, resume=False)
        mapping = auto_mapping("opportunities", headers, may_backdate=False)
        checkpoint = runs.checkpoint(run)
        import_rows(
            session, actor, "opportunities", rows, mapping, on_row=on_row, batch_size=batch,
            on_batch=checkpoint,
        )  # fmt: skip


def _names(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return sorted(session.scalars(select(Opportunity.name)))


def test_resume_skips_the_committed_rows_and_counts_the_whole_file(
    cli: sessionmaker[Session], tmp_path: Path
) -> None:
    # No external ids: were a committed row imported again, it would be there twice.
    source = tmp_path / "deals.csv"
    source.write_text("name\n" + "".join(f"D{n}\n" for n in range(1, 8)), encoding="utf-8")
    _interrupted(cli, source, after=5, batch=2)
    assert _names(cli) == ["D1", "D2", "D3", "D4"]

    result = runner.invoke(app, ["import", "opportunities", str(source), "--resume"])
    assert result.exit_code == 0, result.output
    assert "created 7 opportunities, 0 already imported, refused 0 rows" in result.stdout
    assert _names(cli) == [f"D{n}" for n in range(1, 8)]
    with cli() as session:
        run = session.scalars(select(ImportRun)).one()
    assert (run.status, run.rows_done, run.created) == ("done", 7, 7)

    again = runner.invoke(app, ["import", "opportunities", str(source), "--resume"])
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        "error: Nothing to resume: this file was imported into opportunities completely."
    )
    assert len(_names(cli)) == 7


def test_a_new_import_of_the_file_leaves_the_unfinished_run(
    cli: sessionmaker[Session], tmp_path: Path
) -> None:
    source = tmp_path / "deals.csv"
    source.write_text("opportunityid,name\nA,Alpha\nB,Beta\nC,Gamma\n", encoding="utf-8")
    _interrupted(cli, source, after=2, batch=1)
    result = runner.invoke(app, ["import", "opportunities", str(source)])
    assert "created 1 opportunities, 2 already imported" in result.stdout
    with cli() as session:
        statuses = sorted(session.scalars(select(ImportRun.status)))
    assert statuses == ["abandoned", "done"]


def test_refusals_are_one_line(cli: sessionmaker[Session], tmp_path: Path) -> None:
    source = tmp_path / "history.csv"
    source.write_text("opportunityid,stage,changed_at\nA,develop,2024-01-01\n", encoding="utf-8")
    history = runner.invoke(app, ["import", "history", str(source)])
    dry = runner.invoke(app, ["import", "history", str(source), "--resume", "--dry-run"])
    table = runner.invoke(app, ["import", "quotes", str(source)])
    assert (history.exit_code, dry.exit_code, table.exit_code) == (1, 1, 1)
    assert history.stderr == "error: Only administrators import history.\n"
    assert dry.stderr.startswith("error: --resume carries on a real import")
    assert "one of accounts, contacts, history, leads, opportunities" in table.stderr
    with cli() as session:
        assert session.scalars(select(ImportRun)).all() == []
