"""The phase moves (decision 0033) follow every move, close, reopen and backdated change in
the same transaction, merge what one instant does as the change log's fold does, cost a move
to another phase one statement, are rebuilt by their migration, and give flow of now the answer
the log gives as of the same instant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow import migrate
from oppflow.analytics import changelog
from oppflow.clock import simulated_time
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, PhaseMove
from tests.analytics.closed import (
    assert_phase_moves_follow_the_log,
    assert_stage_stints_follow_the_log,
)
from tests.analytics.test_change_log import _journey, _patch, _post
from tests.analytics.test_closed_deals import StatementLog
from tests.analytics.test_stage_stints import _set
from tests.helpers import create_opportunity, login, qualify_fields, signed_in
from tests.imports.support import run_import, user


def test_each_move_close_and_reopen_keeps_the_moves_in_its_transaction(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = create_opportunity(client, headers, estimated_value=1000, **links)["id"]
    assert assert_phase_moves_follow_the_log(factory) == 1
    _post(client, headers, f"opportunities/{made}/process/next")
    _post(client, headers, f"opportunities/{made}/process/previous")
    # Entry, then per move an exit and an entry.
    assert assert_phase_moves_follow_the_log(factory) == 5
    _post(client, headers, f"opportunities/{made}/win")
    _post(client, headers, f"opportunities/{made}/reopen")
    assert assert_phase_moves_follow_the_log(factory) == 7
    assert _moves(factory)[-2:] == [("won", False), ("entry", True)]
    _journey(client, headers)
    assert assert_phase_moves_follow_the_log(factory) > 7


def _moves(factory: sessionmaker[Session]) -> list[tuple[str, bool]]:
    with factory() as session:
        rows = session.scalars(select(PhaseMove).order_by(PhaseMove.at_us, PhaseMove.move))
        return [(row.move, row.reopened) for row in rows]


def test_what_one_instant_does_is_merged_as_the_log_folds_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Flushes in one microsecond: a phase entered and left at that instant was never
    entered, and one left and entered again there was never left."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = uuid.UUID(create_opportunity(client, headers, **links)["id"])
    instant = datetime.now(UTC) + timedelta(seconds=5)
    with simulated_time(instant), unit_of_work(factory) as session:
        _set(session, made, pipeline_phase="2-Develop")
        _set(session, made, pipeline_phase="3-Propose")
    assert assert_phase_moves_follow_the_log(factory) == 3
    later = instant + timedelta(seconds=1)
    for phase in ("2-Develop", "3-Propose"):
        with simulated_time(later), unit_of_work(factory) as session:
            _set(session, made, pipeline_phase=phase)
    assert assert_phase_moves_follow_the_log(factory) == 3
    # Lost and reopened into another phase at one instant: one move forward, no reopening.
    last = later + timedelta(seconds=1)
    with simulated_time(last), unit_of_work(factory) as session:
        _set(session, made, state="lost")
        _set(session, made, state="open", pipeline_phase="4-Close")
    assert assert_phase_moves_follow_the_log(factory) == 5
    assert _moves(factory)[-2:] == [("entry", False), ("next", False)]


def test_two_transactions_at_one_instant_and_a_clock_behind_follow_the_log(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Lost in one transaction and reopened into another phase in the next, in one
    microsecond: the fold sees one move forward. Then a move dated before the last one (a
    host whose clock is behind): the fold orders it first."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = uuid.UUID(create_opportunity(client, headers, **links)["id"])
    instant = datetime.now(UTC) + timedelta(seconds=5)
    with simulated_time(instant), unit_of_work(factory) as session:
        _set(session, made, state="lost")
    with simulated_time(instant), unit_of_work(factory) as session:
        _set(session, made, state="open", pipeline_phase="2-Develop", active_stage="develop")
    assert _moves(factory)[-2:] == [("entry", False), ("next", False)]
    later = instant + timedelta(seconds=1)
    with simulated_time(later), unit_of_work(factory) as session:
        _set(session, made, pipeline_phase="3-Propose", active_stage="propose")
    with simulated_time(later - timedelta(milliseconds=3)), unit_of_work(factory) as session:
        _set(session, made, pipeline_phase="4-Close", active_stage="close")
    assert assert_phase_moves_follow_the_log(factory) == 7
    assert assert_stage_stints_follow_the_log(factory) == 4


def test_a_backdated_change_rewrites_the_moves_from_the_log(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    made = uuid.UUID(create_opportunity(client, headers, **links)["id"])
    _post(client, headers, f"opportunities/{made}/process/next")
    before = datetime.now(UTC) - timedelta(days=400)
    with unit_of_work(factory) as session, changelog.effective_at(session, before):
        _set(session, made, state="won")
    # Won before it was born, as the log orders it: no exit, the moves of its birth and move.
    assert assert_phase_moves_follow_the_log(factory) == 3


def test_a_move_to_another_phase_writes_one_statement_and_a_field_update_none(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    links = qualify_fields(client, headers)
    with StatementLog(engine) as seen:
        made = create_opportunity(client, headers, **links)["id"]
    assert _touching(seen) == ["INSERT"]
    for path in ("process/next", "win"):
        with StatementLog(engine) as seen:
            _post(client, headers, f"opportunities/{made}/{path}")
        assert _touching(seen) == ["INSERT"], path
    other = create_opportunity(client, headers, name="Other", **links)["id"]
    with StatementLog(engine) as seen:
        _patch(client, headers, other, estimated_value=10, probability=30)
    assert _touching(seen) == []
    assert assert_phase_moves_follow_the_log(factory) == 5


def _touching(seen: list[str]) -> list[str]:
    return [s.split()[0] for s in seen if "phase_moves" in s]


def test_the_migration_builds_the_moves_from_the_log(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    kept = assert_phase_moves_follow_the_log(factory)
    migrate.downgrade(engine, "0017")
    migrate.upgrade(engine)
    assert assert_phase_moves_follow_the_log(factory) == kept > 0


def test_flow_of_a_process_now_equals_it_as_of_its_instant(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Now, the process filter reads the records' process; as of an instant, the one the
    spans hold then (decision 0037)."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    _journey(client, headers)
    process = {"process": "opportunity-sales-process"}
    of_now = _report(client, headers, **process)
    assert sum(row["entries"] for row in of_now["rows"]) > 0
    at = of_now["convention"]["as_of"]
    assert of_now["rows"] == _report(client, headers, as_of=at, **process)["rows"]


def test_the_entered_cohort_of_now_counts_a_first_entry_only(
    client: TestClient, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """An opportunity that first entered Qualify long ago and came back to it today is not
    in today's cohort of those entering Qualify; one created today is."""
    user(factory, "admin", role="system-administrator")
    source = "opportunityid,name,createdon\nO-1,Old,2024-01-10\n"
    result = run_import(factory, "admin", "opportunities", tmp_path / "o.csv", source)
    assert result.created == 1, result.problems
    headers = login(client, "admin")
    with factory() as session:
        old = session.scalars(select(Opportunity.id)).one()
    _patch(client, headers, str(old), **qualify_fields(client, headers))
    _post(client, headers, f"opportunities/{old}/process/next")
    _post(client, headers, f"opportunities/{old}/process/previous")
    create_opportunity(client, headers, name="New")
    asked = {"cohort": "entered", "mode": "any"}
    of_now = _report(client, headers, "conversion", **asked)
    assert of_now["rows"][0]["reached"] == 1
    at = of_now["convention"]["as_of"]
    assert of_now["rows"] == _report(client, headers, "conversion", as_of=at, **asked)["rows"]


def _report(client: TestClient, headers: dict[str, str], name: str = "flow", **params: str) -> Any:
    answer = client.get(f"/api/v1/analytics/{name}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()
