"""Closing an opportunity through HTTP: win, lose, reopen, and the read-only closed record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create, create_opportunity, qualify_fields, signed_in

H = dict[str, str]


def url(opportunity_id: str, tail: str = "") -> str:
    return f"/api/v1/opportunities/{opportunity_id}{tail}"


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def close(client: TestClient, headers: H, opportunity_id: str, how: str, **body: Any) -> Any:
    answer = client.post(url(opportunity_id, f"/{how}"), json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] == f'"{answer.json()["version"]}"'
    return answer.json()


def closes(client: TestClient, headers: H, opportunity_id: str) -> list[Any]:
    answer = client.get(url(opportunity_id, "/closes"), headers=headers)
    assert answer.status_code == 200, answer.text
    rows: list[Any] = answer.json()
    return rows


def everything(client: TestClient, headers: H, opportunity_id: str) -> dict[str, Any]:
    """The record, its process, its history and its close records, as the API shows them."""
    return {
        "record": client.get(url(opportunity_id), headers=headers).json(),
        "process": client.get(url(opportunity_id, "/process"), headers=headers).json(),
        "history": client.get(url(opportunity_id, "/history"), headers=headers).json(),
        "closes": closes(client, headers, opportunity_id),
    }


def test_win_defaults_to_the_estimated_value_and_today(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(
        client, headers, estimated_value=48000, probability=40, forecast_category="best_case"
    )
    won = close(client, headers, opportunity["id"], "win")
    assert won["state"] == "won"
    assert won["status_reason"] == "won"
    assert won["forecast_category"] == "won"
    assert won["actual_value"] == 48000
    assert won["actual_close_date"] == today()
    assert won["probability"] == 100
    assert won["version"] > opportunity["version"]
    assert client.get(url(opportunity["id"]), headers=headers).json()["version"] == won["version"]
    (record,) = closes(client, headers, opportunity["id"])
    assert record["outcome"] == "won"
    assert record["status"] == "completed"
    assert record["status_reason"] == "won"
    assert record["actual_revenue"] == 48000
    assert record["close_date"] == today()
    assert record["competitor_id"] is None
    listed = client.get("/api/v1/opportunities", params={"state": "won"}, headers=headers).json()
    assert [item["id"] for item in listed["items"]] == [opportunity["id"]]


def test_win_takes_explicit_revenue_date_and_description(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers, estimated_value=48000)
    won = close(
        client,
        headers,
        opportunity["id"],
        "win",
        actual_revenue=45500.25,
        close_date="2026-01-15",
        description="Signed after the pilot",
    )
    assert won["actual_value"] == 45500.25
    assert won["actual_close_date"] == "2026-01-15"
    (record,) = closes(client, headers, opportunity["id"])
    assert record["actual_revenue"] == 45500.25
    assert record["close_date"] == "2026-01-15"
    assert record["description"] == "Signed after the pilot"


def test_win_without_an_estimated_value_or_with_zero_revenue(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    unvalued = create_opportunity(client, headers, name="No value")
    assert close(client, headers, unvalued["id"], "win")["actual_value"] is None
    free = create_opportunity(client, headers, name="Free", estimated_value=1000)
    assert close(client, headers, free["id"], "win", actual_revenue=0)["actual_value"] == 0


@pytest.mark.parametrize(
    "body",
    [{"actual_revenue": -1}, {"close_date": "yesterday"}, {"actual_revenue": 1, "bonus": 2}],
)
def test_a_malformed_win_is_422_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers, estimated_value=1000)
    before = everything(client, headers, opportunity["id"])
    answer = client.post(url(opportunity["id"], "/win"), json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert everything(client, headers, opportunity["id"]) == before


def test_lose_out_sold_to_a_competitor(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    competitor = create(
        client,
        headers,
        "competitors",
        name="Northwind CRM",
        strengths="Price",
        weaknesses="Support",
    )
    opportunity = create_opportunity(client, headers, estimated_value=30000, probability=60)
    lost = close(
        client,
        headers,
        opportunity["id"],
        "lose",
        status_reason="out_sold",
        competitor_id=competitor["id"],
        description="Cheaper offer",
    )
    assert lost["state"] == "lost"
    assert lost["status_reason"] == "out_sold"
    assert lost["forecast_category"] == "lost"
    assert lost["actual_value"] is None
    assert lost["actual_close_date"] == today()
    assert lost["probability"] == 0
    (record,) = closes(client, headers, opportunity["id"])
    assert record["outcome"] == "lost"
    assert record["status"] == "completed"
    assert record["status_reason"] == "out_sold"
    assert record["competitor_id"] == competitor["id"]
    assert record["description"] == "Cheaper offer"
    # a competitor an opportunity was lost to is still referenced: even an administrator
    # cannot delete it
    administrator = signed_in(client, factory, "admin", roles=["system-administrator"])
    answer = client.delete(f"/api/v1/competitors/{competitor['id']}", headers=administrator)
    assert answer.status_code == 409, answer.text
    assert client.get(f"/api/v1/competitors/{competitor['id']}", headers=headers).status_code == 200


def test_lose_defaults_to_canceled(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers)
    lost = close(client, headers, opportunity["id"], "lose", close_date="2026-02-01")
    assert (lost["state"], lost["status_reason"]) == ("lost", "canceled")
    assert lost["actual_close_date"] == "2026-02-01"
    assert closes(client, headers, opportunity["id"])[0]["close_date"] == "2026-02-01"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {"status_reason": "out_sold", "competitor_id": "00000000-0000-4000-8000-000000000001"},
            422,
        ),
        ({"status_reason": "won"}, 422),
        ({"status_reason": "in_progress"}, 422),
        ({"competitor_id": "not-a-uuid"}, 422),
    ],
)
def test_a_refused_lose_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], status: int
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers, estimated_value=1000)
    before = everything(client, headers, opportunity["id"])
    answer = client.post(url(opportunity["id"], "/lose"), json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    after = everything(client, headers, opportunity["id"])
    assert after == before
    assert after["record"]["state"] == "open"
    assert after["closes"] == []


def test_an_unknown_competitor_is_named_in_the_problem(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers)
    answer = client.post(
        url(opportunity["id"], "/lose"),
        json={"status_reason": "out_sold", "competitor_id": "00000000-0000-4000-8000-000000000001"},
        headers=headers,
    )
    assert answer.status_code == 422
    assert "competitor_id" in answer.json()["detail"]


@pytest.mark.parametrize("how", ["win", "lose"])
def test_reopen_sets_the_record_back_and_cancels_the_close_record(
    client: TestClient, factory: sessionmaker[Session], how: str
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(
        client, headers, estimated_value=20000, **qualify_fields(client, headers)
    )
    moved = client.post(url(opportunity["id"], "/process/next"), headers=headers)
    assert moved.status_code == 200, moved.text
    close(client, headers, opportunity["id"], how)
    reopened = close(client, headers, opportunity["id"], "reopen")
    assert reopened["state"] == "open"
    assert reopened["status_reason"] == "in_progress"
    assert reopened["forecast_category"] == "pipeline"
    assert reopened["actual_value"] is None
    assert reopened["actual_close_date"] is None
    # the process is where it was
    assert (reopened["active_stage"], reopened["pipeline_phase"]) == ("develop", "2-Develop")
    (record,) = closes(client, headers, opportunity["id"])
    assert record["status"] == "canceled"
    assert record["outcome"] == ("won" if how == "win" else "lost")

    # open again: it is editable and movable, and closes a second time
    developed = {"customer_need": "A CRM", "proposed_solution": "Ours"}
    answer = client.patch(url(opportunity["id"]), json=developed, headers=headers)
    assert answer.status_code == 200, answer.text
    moved = client.post(url(opportunity["id"], "/process/next"), headers=headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["active_stage"]["key"] == "propose"
    close(client, headers, opportunity["id"], "win", actual_revenue=19000)
    rows = closes(client, headers, opportunity["id"])
    assert [(r["outcome"], r["status"]) for r in rows] == [
        ("won" if how == "win" else "lost", "canceled"),
        ("won", "completed"),
    ]


def test_reopen_of_an_open_opportunity_is_409(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers)
    before = everything(client, headers, opportunity["id"])
    answer = client.post(url(opportunity["id"], "/reopen"), headers=headers)
    assert answer.status_code == 409, answer.text
    assert everything(client, headers, opportunity["id"]) == before


CLOSED_EDITS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "", {"name": "Renamed"}),
    ("PATCH", "", {"estimated_value": 1}),
    ("PATCH", "", {"customer_need": "More"}),
    ("DELETE", "", None),
    ("POST", "/process/next", None),
    ("POST", "/process/previous", None),
    ("POST", "/process/set-active", {"stage": "qualify"}),
    ("POST", "/process/finish", None),
    ("POST", "/process/abandon", None),
    ("POST", "/process/reactivate", None),
    ("POST", "/process/switch", {"process": "lead-to-opportunity-sales-process"}),
    ("POST", "/win", {}),
    ("POST", "/lose", {"status_reason": "canceled"}),
]


@pytest.mark.parametrize("how", ["win", "lose"])
def test_every_edit_of_a_closed_opportunity_is_409_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], how: str
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(
        client,
        headers,
        estimated_value=10000,
        customer_need="A CRM",
        proposed_solution="Ours",
        **qualify_fields(client, headers),
    )
    oid = opportunity["id"]
    client.post(url(oid, "/process/next"), headers=headers)
    client.post(url(oid, "/process/next"), headers=headers)
    closed = close(client, headers, oid, how)
    before = everything(client, headers, oid)
    assert before["record"]["active_stage"] == "propose"
    for method, tail, body in CLOSED_EDITS:
        answer = client.request(method, url(oid, tail), json=body, headers=headers)
        assert answer.status_code == 409, (method, tail, answer.text)
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == 409
        assert problem["type"] == "https://oppflow.dev/problems/record-closed", (method, tail)
        assert everything(client, headers, oid) == before, (method, tail)
    # with a matching If-Match too: the version is right, the record is still closed
    answer = client.patch(
        url(oid), json={"name": "Renamed"}, headers=headers | {"If-Match": f'"{closed["version"]}"'}
    )
    assert answer.status_code == 409, answer.text
    assert everything(client, headers, oid) == before


def test_deleting_an_open_opportunity_removes_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers, **qualify_fields(client, headers))
    client.post(url(opportunity["id"], "/process/next"), headers=headers)
    answer = client.delete(url(opportunity["id"]), headers=headers)
    assert answer.status_code == 204, answer.text
    for tail in ("", "/process", "/history", "/closes"):
        assert client.get(url(opportunity["id"], tail), headers=headers).status_code == 404
