"""The summary tables the reports read: an upgrade whose migrations left some empty fills them
even when it stopped before doing so, and ``oppflow db rebuild-summaries`` rewrites them all."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, delete, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow import migrate
from oppflow.analytics import closed_deals, phase_moves, spans, stage_stints, totals
from oppflow.analytics.summaries import REBUILDS
from oppflow.cli import app
from oppflow.models import TotalDelta
from tests.analytics.test_change_log import _journey
from tests.helpers import signed_in

FROM_THE_LOG = {
    "stage_stints": stage_stints.SUMMARY.model,
    "phase_moves": phase_moves.SUMMARY.model,
    "spans": spans.SUMMARY.model,
    "closed_deals": closed_deals.SUMMARY.model,
}
TABLES: list[Table] = [model.__table__ for model in FROM_THE_LOG.values()]  # type: ignore[misc]


def _rows(factory: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    with factory() as session:
        return {
            table.name: sorted(map(tuple, session.execute(select(table))), key=repr)
            for table in TABLES
        }


def _crashing(_session: Session) -> None:
    raise RuntimeError("killed while filling the summaries")


def test_an_upgrade_stopped_before_its_fill_fills_on_the_next_run(
    client: TestClient,
    factory: sessionmaker[Session],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the summaries to fill were those made after the revision the run began at: a
    run that committed 0017 to 0023 and stopped (a crash, or 0024's concurrent index build
    failing on PostgreSQL) left them empty for good."""
    _journey(client, signed_in(client, factory, roles=["system-administrator"]))
    kept = _rows(factory)
    assert all(kept[name] for name in ("stage_stints", "phase_moves", "opportunity_spans"))
    migrate.downgrade(engine, "0016")
    migrate.upgrade(engine, "0023")  # committed, not the head: nothing filled yet
    assert not any(_rows(factory)[model.__tablename__] for model in FROM_THE_LOG.values())
    assert sorted(_notes(engine)) == sorted(FROM_THE_LOG)
    with monkeypatch.context() as crash:
        crash.setitem(REBUILDS, "closed_deals", _crashing)
        with pytest.raises(RuntimeError):
            migrate.upgrade(engine)
    assert not any(_rows(factory)[model.__tablename__] for model in FROM_THE_LOG.values())
    assert sorted(_notes(engine)) == sorted(FROM_THE_LOG)
    migrate.upgrade(engine)  # at the head already: no migration runs, the notes remain
    assert _rows(factory) == kept
    assert not _notes(engine)
    migrate.upgrade(engine)
    assert _rows(factory) == kept


def _notes(engine: Engine) -> list[str]:
    if not inspect(engine).has_table(migrate.SUMMARIES_TO_FILL):
        return []
    with engine.connect() as connection:
        noted = text(f"SELECT summary FROM {migrate.SUMMARIES_TO_FILL}")
        return list(connection.scalars(noted))


def test_the_command_rewrites_every_summary_from_the_records_and_the_log(
    client: TestClient, factory: sessionmaker[Session], cli_on_test_database: None
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    kept, funnel = _rows(factory), _funnel(client, headers)
    assert sum(phase["count"] for phase in funnel) == 1  # the lead's, still open
    with factory.begin() as session:
        for table in [
            *TABLES,
            TotalDelta.__table__,
            *(s.model.__table__ for s in totals.SUMMARIES),
        ]:
            session.execute(delete(table))
    assert not any(_rows(factory).values())
    assert _funnel(client, headers) != funnel
    result = CliRunner().invoke(app, ["db", "rebuild-summaries"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt totals, stage_stints, phase_moves, spans, closed_deals." in result.output
    assert _rows(factory) == kept
    assert _funnel(client, headers) == funnel


def _funnel(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/analytics/funnel", headers=headers)
    assert answer.status_code == 200, answer.text
    phases: list[dict[str, Any]] = answer.json()["phases"]
    return phases
