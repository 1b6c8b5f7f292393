"""``history`` imports, on SQLite and PostgreSQL: dated stage changes recorded as they happened,
so the record, its instance, the stage history and the change log agree; administrators only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.errors import PermissionDenied
from oppflow.models import Opportunity, OpportunityChange, ProcessInstance, StageHistory
from oppflow.process import engine
from oppflow.process.catalog import definition_of
from tests.analytics.closed import (
    assert_closed_deals_follow_the_log,
    assert_phase_moves_follow_the_log,
    assert_stage_stints_follow_the_log,
)
from tests.imports.support import run_import, user

HISTORY = (
    "Opportunity ID,Stage Name,Created Date\n"
    "O-1,Develop,2024-02-01\n"
    "O-1,3-Propose,2024-03-01T12:00:00+02:00\n"
    "O-1,develop,2024-03-10\n"
    "O-9,develop,2024-03-10\n"
    "O-1,Close,2024-01-20\n"
    "O-1,nowhere,2024-04-01\n"
)


def day(month: int, date: int, hour: int = 0) -> datetime:
    return datetime(2024, month, date, hour, tzinfo=UTC)


@pytest.fixture
def imported(factory: sessionmaker[Session], tmp_path: Path) -> sessionmaker[Session]:
    user(factory, "admin", role="system-administrator")
    user(factory, "alice")
    source = "opportunityid,name,createdon\nO-1,Old deal,2024-01-01\n"
    assert run_import(factory, "admin", "opportunities", tmp_path / "o.csv", source).created == 1
    return factory


def test_dated_changes_are_recorded_as_they_happened(
    imported: sessionmaker[Session], tmp_path: Path
) -> None:
    result = run_import(imported, "admin", "history", tmp_path / "h.csv", HISTORY)
    assert (result.created, result.refused) == (3, 3)
    assert [(p.row, p.column, p.value, p.why) for p in result.problems] == [
        (
            4,
            "opportunity_external_id",
            "O-9",
            "no opportunity with that external id that you can read",
        ),
        (5, "", "", "This change is dated before the opportunity's last stage change."),
        (6, "stage", "nowhere", "not a stage of the process opportunity-sales-process"),
    ]
    with imported() as session:
        opportunity = session.scalars(select(Opportunity)).one()
        instance = session.scalars(select(ProcessInstance)).one()
        history = session.execute(
            select(StageHistory.kind, StageHistory.to_stage, StageHistory.at).order_by(
                StageHistory.seq
            )
        ).all()
        stages = session.execute(
            select(OpportunityChange.new_value, OpportunityChange.effective_at)
            .where(OpportunityChange.field == "active_stage")
            .order_by(OpportunityChange.seq)
        ).all()
        definition = definition_of(session, instance.process_id, instance.process_version)
    assert [tuple(row) for row in history] == [
        ("start", "qualify", day(1, 1)),
        ("next", "develop", day(2, 1)),
        ("next", "propose", day(3, 1, 10)),
        ("set_active", "develop", day(3, 10)),
    ]
    assert [tuple(row) for row in stages] == [(row.to_stage, row.at) for row in history]
    assert (opportunity.active_stage, opportunity.pipeline_phase) == ("develop", "2-Develop")
    assert (instance.active_stage_started_at, instance.traversed_path) == (
        day(3, 10),
        ["qualify", "develop"],
    )
    # The history replays to the instance, as every move the engine makes does.
    replayed = engine.replay(definition, [(row.kind, None, row.to_stage) for row in history])
    assert replayed.traversed_path == tuple(instance.traversed_path)


def test_history_imports_once(imported: sessionmaker[Session], tmp_path: Path) -> None:
    run_import(imported, "admin", "history", tmp_path / "h.csv", HISTORY)
    again = run_import(imported, "admin", "history", tmp_path / "h.csv", HISTORY)
    assert (again.created, again.existing, again.refused) == (0, 3, 3)
    with imported() as session:
        assert len(session.scalars(select(StageHistory)).all()) == 4


def test_only_administrators_import_history(
    imported: sessionmaker[Session], tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied, match="Only administrators import history"):
        run_import(imported, "alice", "history", tmp_path / "h.csv", HISTORY)
    with imported() as session:
        assert len(session.scalars(select(StageHistory)).all()) == 1


CLOSING = (
    "opportunityid,stepname,createdon,statecode,actualvalue,statuscode\n"
    "O-1,Develop,2024-02-01,,,\n"
    "O-1,,2024-01-15,won,900,\n"
    "O-2,Propose,2024-03-01,lost,,out_sold\n"
    "O-1,,2024-03-01,won,900,\n"
    "O-1,Propose,2024-04-01,,,\n"
    "O-3,,2024-04-01,,,\n"
)


def test_a_history_row_closes_the_opportunity_on_its_date(
    imported: sessionmaker[Session], tmp_path: Path
) -> None:
    source = "opportunityid,name,createdon\nO-2,Other deal,2024-01-01\nO-3,Third,2024-01-01\n"
    assert run_import(imported, "admin", "opportunities", tmp_path / "o.csv", source).created == 2
    result = run_import(imported, "admin", "history", tmp_path / "h.csv", CLOSING)
    assert (result.created, result.refused) == (3, 3)
    assert [(p.row, p.column, p.value, p.why) for p in result.problems] == [
        (
            2,
            "changed_at",
            "2024-01-15",
            "This change is dated before the opportunity's last stage change.",
        ),
        (5, "", "", "The opportunity is won; reopen it to move its stage."),
        (6, "stage", "", "required (or a state won or lost)"),
    ]
    with imported() as session:
        found = {o.external_id: o for o in session.scalars(select(Opportunity))}
        states = session.execute(
            select(
                Opportunity.external_id, OpportunityChange.new_value, OpportunityChange.effective_at
            )
            .join(Opportunity, Opportunity.id == OpportunityChange.opportunity_id)
            .where(OpportunityChange.field == "state", OpportunityChange.old_value.is_not(None))
        ).all()
    won, lost = found["O-1"], found["O-2"]
    assert (won.state, won.actual_value, won.actual_close_date.isoformat()) == (
        "won",
        900,
        "2024-03-01",
    )
    assert (lost.state, lost.status_reason, lost.active_stage) == ("lost", "out_sold", "propose")
    assert lost.actual_close_date.isoformat() == "2024-03-01"
    # The change log dates each close at its row's date, for the reports over history.
    assert sorted(tuple(row) for row in states) == [
        ("O-1", "won", day(3, 1)),
        ("O-2", "lost", day(3, 1)),
    ]
    again = run_import(imported, "admin", "history", tmp_path / "h.csv", CLOSING)
    assert (again.created, again.existing, again.refused) == (0, 3, 3)
    # Backdated closes keep the closed deals' rows as the log reads (win/loss, calibration).
    assert assert_closed_deals_follow_the_log(imported) == 2
    assert assert_stage_stints_follow_the_log(imported) > 0
    assert assert_phase_moves_follow_the_log(imported) > 0
