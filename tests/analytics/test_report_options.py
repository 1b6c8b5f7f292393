"""Report options: bad input answers a 4xx problem and never a 500; CSV on request; stale
opportunities by their stage's threshold; stage defaults in process definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import simulated_time
from oppflow.errors import ValidationFailed
from oppflow.process.builtin import builtin_yaml
from oppflow.process.definition import load_definition
from tests.helpers import create_opportunity, qualify_fields, signed_in

REPORTS = (
    "funnel", "conversion", "flow", "time-in-stage", "stale", "forecast", "waterfall",
    "win-loss", "calibration",
)  # fmt: skip
BAD = [
    {"unknown": "1"},
    {"from": "2026-05-01", "to": "2026-01-01"},
    {"from": "2026-02-30"},
    {"as_of": "2026-13-01"},
    {"as_of": "2026-01-01T25:00Z"},
    {"as_of": "1800-01-01"},
    {"as_of": "2026-01-01T10:00"},
    {"as_of": "yesterday"},
    {"from": "1990-01-01", "to": "2100-01-01"},
    {"tz": "Mars/Olympus"},
    {"owner_id": "not-a-uuid"},
    {"business_unit_id": "0"},
]


@pytest.mark.parametrize("report", REPORTS)
def test_bad_input_is_a_problem_not_a_crash(
    client: TestClient, factory: sessionmaker[Session], report: str
) -> None:
    headers = signed_in(client, factory)
    for params in BAD:
        answer = client.get(f"/api/v1/analytics/{report}", params=params, headers=headers)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 422


@pytest.mark.parametrize(
    ("report", "params"),
    [
        ("funnel", {"mode": "sideways"}),
        ("funnel", {"cohort": "born"}),
        ("conversion", {"mode": "snapshot"}),
        ("time-in-stage", {"measure": "average"}),
        ("forecast", {"rollup": "sum"}),
        ("waterfall", {"start": "2026-06-01", "as_of": "2026-05-01"}),
        ("waterfall", {"details": "maybe"}),
    ],
)
def test_each_reports_own_options_are_checked(
    client: TestClient, factory: sessionmaker[Session], report: str, params: dict[str, str]
) -> None:
    headers = signed_in(client, factory)
    answer = client.get(f"/api/v1/analytics/{report}", params=params, headers=headers)
    assert answer.status_code == 422, answer.text


def test_a_time_zone_moves_midnight(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    params = {"mode": "any", "from": "2026-03-01", "to": "2026-04-01", "tz": "Europe/Paris"}
    answer = client.get("/api/v1/analytics/funnel", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    period = answer.json()["convention"]["period"]
    assert period == "[2026-02-28T23:00:00+00:00, 2026-03-31T22:00:00+00:00)"


def test_a_time_zone_moves_the_days_a_close_period_holds(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """March in Paris starts at 23:00 UTC on 28 February; a deal closed on 28 February is
    not in it (it was, when the days were read in UTC)."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    for day in ("2026-02-28", "2026-03-31", "2026-04-01"):
        made = create_opportunity(client, headers, name=f"Lost {day}")["id"]
        lost = {"status_reason": "canceled", "close_date": day}
        answer = client.post(f"/api/v1/opportunities/{made}/lose", json=lost, headers=headers)
        assert answer.status_code == 200, answer.text
    march = {"from": "2026-03-01", "to": "2026-04-01", "tz": "Europe/Paris"}
    later = {"as_of": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    for params in (march, march | later):  # of now from the closed deals, and from the log
        answer = client.get("/api/v1/analytics/win-loss", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"][0]["lost"] == 1, params


def test_calibration_takes_either_end_of_its_period_alone(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """``to`` alone was always refused: its period began at the beginning of time, longer than
    the 30 years a period may span."""
    headers = signed_in(client, factory, roles=["system-administrator"])
    for day in ("2026-02-28", "2026-04-01"):
        made = create_opportunity(client, headers, name=f"Lost {day}")["id"]
        lost = {"status_reason": "canceled", "close_date": day}
        answer = client.post(f"/api/v1/opportunities/{made}/lose", json=lost, headers=headers)
        assert answer.status_code == 200, answer.text
    for end, closed in ((("to", "2026-03-01"), 1), (("from", "2026-03-01"), 1), (None, 2)):
        params = dict([end]) if end else {}
        answer = client.get("/api/v1/analytics/calibration", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["closed"] == closed, params


def test_csv_rows_on_request(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    create_opportunity(client, headers, estimated_value=1234.5, estimated_close_date="2027-01-15")
    answer = client.get("/api/v1/analytics/forecast", headers=headers | {"Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0].startswith("month,count,closed,commit,best_case,pipeline")
    assert lines[1].startswith("2027-01,1,0.00,0.00,0.00,1234.50")
    funnel = client.get("/api/v1/analytics/funnel", headers=headers | {"Accept": "text/csv"})
    assert funnel.text.splitlines()[1] == "1-Qualify,1,1234.50,123.45"


def test_stale_by_stage_threshold_and_idleness(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    links = qualify_fields(client, headers)
    long_ago = datetime.now(UTC) - timedelta(days=45)
    with simulated_time(long_ago):
        old = create_opportunity(client, headers, name="Old", **links)["id"]
        noted = create_opportunity(client, headers, name="Noted", **links)["id"]
    fresh = create_opportunity(client, headers, name="Fresh", **links)["id"]
    note = client.post(
        f"/api/v1/opportunities/{noted}/notes", json={"text": "Called"}, headers=headers
    )
    assert note.status_code == 201, note.text
    rows = {
        r["name"]: r for r in client.get("/api/v1/analytics/stale", headers=headers).json()["rows"]
    }
    assert set(rows) == {"Old", "Noted"}
    assert rows["Old"]["stale_in_stage"]
    assert rows["Old"]["idle"]
    assert (rows["Old"]["days_in_stage"], rows["Old"]["threshold_days"]) == (45, 30)
    assert rows["Noted"]["stale_in_stage"]
    assert not rows["Noted"]["idle"]
    assert fresh not in {r["opportunity_id"] for r in rows.values()}
    assert old == rows["Old"]["opportunity_id"]


def test_stage_defaults_are_in_the_builtin_process_and_validated() -> None:
    definition = load_definition(builtin_yaml("opportunity-sales-process"))
    defaults = {s.key: (s.probability, s.forecast_category) for s in definition.stages}
    assert defaults == {
        "qualify": (10, "pipeline"),
        "develop": (30, "pipeline"),
        "propose": (60, "best_case"),
        "close": (80, "committed"),
    }
    text = builtin_yaml("opportunity-sales-process")
    for line, bad in (
        ("probability: 10", "probability: 120"),
        ("forecast_category: pipeline", "forecast_category: maybe"),
        ("probability: 10", "stale_after_days: -1"),
    ):
        broken = text.replace(f"    {line}\n", f"    {bad}\n", 1)
        assert broken != text
        with pytest.raises(ValidationFailed):
            load_definition(broken)
