"""A served oppflow killed with SIGKILL in the middle of a load of writes loses no write it
acknowledged and leaves no stage move half done: after a restart, the opportunity, its process
instance, its stage history and the change log agree, and the totals equal a recount."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.analytics import totals
from oppflow.db import unit_of_work
from oppflow.models import Opportunity, OpportunityChange, ProcessInstance, StageHistory
from tests.analytics.test_totals import _read, _recount
from tests.helpers import create_opportunity, qualify_fields, signed_in
from tests.served import _wait_until_healthy, database_url, free_port


@contextmanager
def server(
    engine: Engine, workdir: Path, *workers: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "OPPFLOW_DATABASE_URL": database_url(engine)}
    env["OPPFLOW_DATA_DIR"] = str(workdir)
    command = [sys.executable, "-m", "oppflow", "serve", "--port", str(port), "--no-migrate"]
    command += workers
    log = workdir / f"server-{port}.log"
    with log.open("wb") as output:
        # A session of its own: SIGKILL to the group takes the workers with the supervisor, as
        # when the host dies (on PostgreSQL, serve runs a worker per CPU).
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(base, process, log)
            yield base, process
        finally:
            _kill_all(process)


def _kill_all(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


@dataclass
class Acknowledged:
    """What the server answered 2xx to: each opportunity's last version and stage."""

    created: set[str] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)

    def record(self, target: str, body: dict[str, Any]) -> None:
        """An opportunity's answer (create or change), or a move's (the process instance)."""
        if "record_version" in body:
            self.versions[target] = body["record_version"]
            self.stages[target] = body["active_stage"]["key"]
            return
        self.created.add(body["id"])
        self.versions[body["id"]] = body["version"]
        self.stages[body["id"]] = body["active_stage"]


def _write_until_killed(
    base: str, headers: dict[str, str], ids: list[str], seen: Acknowledged, stop: threading.Event
) -> None:
    """Creates, field changes and stage moves, one after the other, until the connection dies."""
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        number = 0
        while not stop.is_set():
            number += 1
            target = ids[number % len(ids)]
            try:
                if number % 3 == 0:
                    answer = http.post("/api/v1/opportunities", json={"name": f"Crash {number}"})
                elif number % 3 == 1:
                    answer = http.patch(
                        f"/api/v1/opportunities/{target}", json={"probability": number % 100}
                    )
                else:
                    kind = "next" if seen.stages.get(target, "qualify") == "qualify" else "previous"
                    answer = http.post(f"/api/v1/opportunities/{target}/process/{kind}")
            except httpx.TransportError:
                return  # the server is gone: this write was not acknowledged
            if answer.is_success:
                seen.record(target, answer.json())


def _agree(session: Session, opportunity: Opportunity) -> None:
    (instance,) = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.opportunity_id == opportunity.id)
        .order_by(ProcessInstance.last_used_at.desc())
        .limit(1)
    )
    assert instance.active_stage == opportunity.active_stage
    last_move = session.scalars(
        select(StageHistory.to_stage)
        .where(StageHistory.opportunity_id == opportunity.id)
        .order_by(StageHistory.seq.desc())
        .limit(1)
    ).first()
    assert last_move == opportunity.active_stage
    logged = session.scalars(
        select(OpportunityChange.new_value)
        .where(
            OpportunityChange.opportunity_id == opportunity.id,
            OpportunityChange.field == "active_stage",
        )
        .order_by(OpportunityChange.seq.desc())
        .limit(1)
    ).first()
    assert logged == opportunity.active_stage


def test_kill_9_mid_load_loses_no_acknowledged_write_and_leaves_no_half_move(
    client: TestClient, factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    steps = qualify_fields(client, headers)
    ids = [create_opportunity(client, headers, name=f"Deal {n}", **steps)["id"] for n in range(6)]
    seen, stop = Acknowledged(), threading.Event()
    with server(engine, tmp_path) as (base, process):
        writer = threading.Thread(target=_write_until_killed, args=(base, headers, ids, seen, stop))
        writer.start()
        deadline = time.monotonic() + 30
        while len(seen.created) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # well into the load
        _kill_all(process)
        writer.join(timeout=20)
        stop.set()
    assert len(seen.created) >= 3, "the load never got going"
    assert len(seen.versions) >= 6

    # It comes back (SQLite replays its write-ahead log), and finds the data whole.
    with server(engine, tmp_path, "--workers", "1"), unit_of_work(factory) as session:
        found = {str(o.id): o for o in session.scalars(select(Opportunity))}
        for key, version in seen.versions.items():
            assert key in found, f"acknowledged {key} is gone"
            assert found[key].version >= version
        for opportunity in found.values():
            _agree(session, opportunity)
        for summary in totals.SUMMARIES:
            assert _read(session, summary) == _recount(session, summary), summary.name
