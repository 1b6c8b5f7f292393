"""The stale report at a past ``as_of`` equals a brute-force reading of the change log (the
opportunities open then, their stage then, days in stage and days idle measured at ``as_of``),
and counts only the notes written by then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import simulated_time, utcnow
from tests.analytics import history as brute
from tests.analytics.test_reports_property import EXAMPLES, World, _get, _iso, _reset, moments
from tests.analytics.test_reports_property import world as world  # the fixture
from tests.helpers import create_opportunity, qualify_fields, signed_in

THRESHOLD = timedelta(days=30)  # every built-in stage keeps the global default
STINT = ("process_key", "active_stage", "state")


def _expected(
    stories: list[brute.History], moment: datetime, *, now: bool = False
) -> list[dict[str, Any]]:
    """Per opportunity open at ``moment`` and stale then: its row, the most idle first. Idle
    since its last change dated by then; ``now``: since its record's last modification (the
    last change written, whenever it took effect)."""
    found = []
    for story in stories:
        state = brute.state_at(story.rows, moment)
        if state is None or state.get("state") != "open":
            continue
        seen = [r for r in story.rows if r.effective_at <= moment]
        entered = max(r.effective_at for r in seen if r.field in STINT)
        active = max(r.recorded_at if now else r.effective_at for r in seen)
        if entered >= moment - THRESHOLD and active >= moment - THRESHOLD:
            continue
        found.append(
            {
                "opportunity_id": str(story.opportunity_id),
                "owner_id": state["owner_id"],
                "process": state.get("process_key"),
                "stage": state.get("active_stage"),
                "pipeline_phase": state.get("pipeline_phase"),
                "days_in_stage": (moment - entered).days,
                "days_idle": (moment - active).days,
                "threshold_days": 30,
                "stale_in_stage": (moment - entered).days >= 30,
                "idle": (moment - active).days >= 30,
                "_order": (active, story.opportunity_id),
            }
        )
    return sorted(found, key=lambda row: row.pop("_order"))


@given(data=st.data())
@EXAMPLES
def test_stale_as_of_any_past_instant(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    moment = data.draw(moments)
    owner = data.draw(st.none() | st.sampled_from(owners))
    params = {"as_of": _iso(moment)} | ({"owner_id": str(owner)} if owner else {})
    answer = _get(client, headers, "stale", **params)
    expected = _expected(stories, moment)
    if owner is not None:
        expected = [row for row in expected if row["owner_id"] == str(owner)]
    got = [{k: v for k, v in row.items() if k != "name"} for row in answer["rows"]]
    assert got == expected
    assert answer["convention"]["total"] == len(expected)
    assert answer["convention"]["as_of"] == moment.isoformat()


@given(data=st.data())
@EXAMPLES
def test_stale_of_now_reads_each_records_stage_entry_and_last_modification(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    """Without ``as_of``: the records now, each one's stage entry kept on it (the change log's
    last change of its process, stage or state) and its last modification."""
    client, headers, owners, units = world
    stories = data.draw(brute.histories(owners))
    _reset(factory, stories, units)
    owner = data.draw(st.none() | st.sampled_from(owners))
    now = utcnow()
    with simulated_time(now):
        answer = _get(client, headers, "stale", **({"owner_id": str(owner)} if owner else {}))
    expected = _expected(stories, now, now=True)
    if owner is not None:
        expected = [row for row in expected if row["owner_id"] == str(owner)]
    got = [{k: v for k, v in row.items() if k != "name"} for row in answer["rows"]]
    assert got == expected
    assert answer["convention"]["total"] == len(expected)
    assert answer["convention"]["read_from"] == "the records now"


@given(data=st.data())
@EXAMPLES
def test_stale_as_of_a_future_instant_counts_to_it_from_the_change_log(
    world: World, factory: sessionmaker[Session], data: st.DataObject
) -> None:
    """What will be stale by then if nothing moves: the state now, its days counted from the
    log's dated changes (imported history is dated long before the records were written)."""
    client, headers, _owners, units = world
    stories = data.draw(brute.histories(_owners))
    _reset(factory, stories, units)
    moment = utcnow() + timedelta(minutes=data.draw(st.integers(1, 60 * 24 * 400)))
    answer = _get(client, headers, "stale", as_of=_iso(moment))
    got = [{k: v for k, v in row.items() if k != "name"} for row in answer["rows"]]
    assert got == _expected(stories, moment)
    assert answer["convention"]["read_from"] == "the change log at as_of"


def test_stale_as_of_counts_the_notes_written_by_then(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    links = qualify_fields(client, headers)
    now = datetime.now(UTC)
    with simulated_time(now - timedelta(days=100)):
        deal = create_opportunity(client, headers, name="Old", **links)["id"]
    with simulated_time(now - timedelta(days=50)):
        note = client.post(
            f"/api/v1/opportunities/{deal}/notes", json={"text": "Called"}, headers=headers
        )
        assert note.status_code == 201, note.text

    def row_at(days_ago: int) -> Any:
        at = (now - timedelta(days=days_ago)).isoformat()
        rows = client.get("/api/v1/analytics/stale", params={"as_of": at}, headers=headers)
        assert rows.status_code == 200, rows.text
        return {r["opportunity_id"]: r for r in rows.json()["rows"]}.get(deal)

    before_note = row_at(60)  # 40 days in stage and idle: the note is not written yet
    assert (before_note["days_in_stage"], before_note["days_idle"]) == (40, 40)
    assert before_note["stale_in_stage"]
    assert before_note["idle"]
    after_note = row_at(40)  # 60 days in stage, idle for 10 since the note
    assert (after_note["days_in_stage"], after_note["days_idle"]) == (60, 10)
    assert after_note["stale_in_stage"]
    assert not after_note["idle"]
    assert row_at(80) is None  # 20 days old: neither
