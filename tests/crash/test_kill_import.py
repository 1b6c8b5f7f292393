"""``oppflow import opportunities`` killed with SIGKILL mid-file, then ``--resume``d, ends as an
uninterrupted import of the same rows does: the same records at the same stages, the same
counts, and for each record an instance, a stage history and a change log that agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import ImportRun, Opportunity, OpportunityChange, StageHistory
from tests.crash.test_kill_server import _agree
from tests.imports.support import account, contact, user
from tests.served import database_url

ROWS = 240
BATCH = 10
HEADER = (
    "opportunityid,name,estimatedvalue,contact email,account name,customerneed,"
    "proposedsolution,presentproposal,stepname,statecode\n"
)


def _row(prefix: str, number: int) -> str:
    """Stages in turn, some closed; every seventh row names an unknown contact (refused), and
    every eleventh misses a step its stage needs when it stands past Develop (refused too)."""
    stage = ("qualify", "develop", "propose", "close")[number % 4]
    email = "nobody@example.com" if number % 7 == 0 else "ng@contoso.example.org"
    solution = "" if number % 11 == 0 else "Leasing"
    state = {5: "won", 9: "lost"}.get(number % 10, "")
    return (
        f"{prefix}-{number},Deal {number},{number * 10},{email},Fabrikam,"
        f"Fleet,{solution},true,{stage},{state}\n"
    )


def _write(path: Path, prefix: str) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        stream.write(HEADER)
        for number in range(1, ROWS + 1):
            stream.write(_row(prefix, number))
    return path


def _command(path: Path, *options: str) -> list[str]:
    command = [sys.executable, "-m", "oppflow", "import", "opportunities", str(path)]
    return [*command, "--as", "alice", "--batch-size", str(BATCH), *options]


def _environment(engine: Engine, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OPPFLOW_DATABASE_URL": database_url(engine),
        "OPPFLOW_DATA_DIR": str(workdir),
    }


def _run(path: Path, env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(path, *options), env=env, capture_output=True, text=True, timeout=600
    )


def _progress(factory: sessionmaker[Session], file_name: str) -> tuple[str, int] | None:
    with unit_of_work(factory, read_only=True) as session:
        run = session.scalars(select(ImportRun).where(ImportRun.file_name == file_name)).first()
        return None if run is None else (run.status, run.rows_done)


def _kill_mid_file(path: Path, env: dict[str, str], factory: sessionmaker[Session]) -> int:
    """Start the import, SIGKILL it once a few batches are in; the rows committed by then."""
    process = subprocess.Popen(
        _command(path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            progress = _progress(factory, path.name)
            if progress is not None and progress[1] >= 4 * BATCH:
                break
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    progress = _progress(factory, path.name)
    assert progress is not None, "no batch committed before the kill"
    assert progress[0] == "running", "the import ended before it was killed"
    assert 0 < progress[1] < ROWS
    return progress[1]


def _snapshot(session: Session, prefix: str) -> dict[str, Any]:
    """Each imported record, keyed by its row number, with its history and change log."""
    found: dict[str, Any] = {}
    query = select(Opportunity).where(Opportunity.external_id.startswith(f"{prefix}-"))
    for opportunity in session.scalars(query):
        _agree(session, opportunity)
        moves = session.scalars(
            select(StageHistory.to_stage)
            .where(StageHistory.opportunity_id == opportunity.id)
            .order_by(StageHistory.seq)
        ).all()
        changes = session.scalar(
            select(func.count()).where(OpportunityChange.opportunity_id == opportunity.id)
        )
        number = (opportunity.external_id or "").removeprefix(f"{prefix}-")
        found[number] = (
            opportunity.name,
            opportunity.active_stage,
            opportunity.pipeline_phase,
            opportunity.state,
            tuple(moves),
            changes,
        )
    return found


def _counts(session: Session, file_name: str) -> tuple[Any, ...]:
    run = session.scalars(select(ImportRun).where(ImportRun.file_name == file_name)).one()
    return (run.status, run.rows_done, run.created, run.existing, run.refused)


def test_a_killed_import_resumes_to_the_end_state_of_an_uninterrupted_one(
    factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    user(factory, "alice")
    account(factory, "alice", "Fabrikam")
    contact(factory, "alice", "Ng", "ng@contoso.example.org")
    env = _environment(engine, tmp_path)
    killed, whole = _write(tmp_path / "killed.csv", "K"), _write(tmp_path / "whole.csv", "W")

    committed = _kill_mid_file(killed, env, factory)
    resumed = _run(killed, env, "--resume")
    uninterrupted = _run(whole, env)

    assert resumed.returncode == uninterrupted.returncode == 2, resumed.stderr
    assert resumed.stdout == uninterrupted.stdout
    with unit_of_work(factory, read_only=True) as session:
        after_kill, expected = _snapshot(session, "K"), _snapshot(session, "W")
        assert _counts(session, killed.name) == _counts(session, whole.name)
        assert _counts(session, whole.name)[2] == len(expected) > committed // 2
    assert after_kill == expected
    # The refused rows were refused whichever side of the kill they fell on.
    refused = {n for n in range(1, ROWS + 1) if n % 7 == 0 or (n % 11 == 0 and n % 4 >= 2)}
    assert set(expected) == {str(n) for n in range(1, ROWS + 1)} - {str(n) for n in refused}
