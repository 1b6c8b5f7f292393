"""The seed's whole journey through HTTP: Qualify → Develop → Propose → Close → finish → win."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create_opportunity, qualify_fields, signed_in

STAGES = ["qualify", "develop", "propose", "close"]
FR = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def process_view(
    client: TestClient, headers: dict[str, str], opportunity_id: str, language: str = "en"
) -> Any:
    extra = FR if language == "fr" else {}
    answer = client.get(f"/api/v1/opportunities/{opportunity_id}/process", headers=headers | extra)
    assert answer.status_code == 200, answer.text
    return answer.json()


def patch(client: TestClient, headers: dict[str, str], opportunity_id: str, **fields: Any) -> Any:
    answer = client.patch(f"/api/v1/opportunities/{opportunity_id}", json=fields, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def move(client: TestClient, headers: dict[str, str], opportunity_id: str, kind: str) -> Any:
    answer = client.post(f"/api/v1/opportunities/{opportunity_id}/process/{kind}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def get(client: TestClient, headers: dict[str, str], opportunity_id: str) -> Any:
    answer = client.get(f"/api/v1/opportunities/{opportunity_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] == f'"{answer.json()["version"]}"'
    return answer.json()


def steps_of(view: Any, stage: str) -> dict[str, bool]:
    """``{field: complete}`` of one stage of a process view."""
    (found,) = [s for s in view["stages"] if s["key"] == stage]
    return {step["field"]: step["complete"] for step in found["steps"]}


def missing(view: Any) -> list[str]:
    return [step["field"] for step in view["missing_steps"]]


def check_position(
    client: TestClient,
    headers: dict[str, str],
    opportunity_id: str,
    stage: str,
    phase: str,
    path: list[str],
) -> Any:
    """The record, its view in both languages and the history agree on where it stands."""
    record = get(client, headers, opportunity_id)
    assert record["active_stage"] == stage
    assert record["pipeline_phase"] == phase
    assert record["process_key"] == "opportunity-sales-process"
    view = process_view(client, headers, opportunity_id)
    assert view["process"]["key"] == "opportunity-sales-process"
    assert view["process"]["name"] == "Opportunity Sales Process"
    assert view["active_stage"]["key"] == stage
    assert view["active_stage"]["category"] == stage
    assert view["traversed_path"] == path
    assert [s["key"] for s in view["stages"]] == STAGES
    assert all(s["table"] == "opportunity" for s in view["stages"])
    assert view["instances"] == []
    assert view["record_version"] == record["version"]
    return view


def test_the_seed_journey_from_qualify_to_won(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    me = client.get("/api/v1/auth/me", headers=headers).json()
    opportunity = create_opportunity(client, headers, estimated_value=48000)
    oid = opportunity["id"]

    # 1-Qualify: nothing filled yet; the two required steps are missing.
    assert opportunity["pipeline_phase"] == "1-Qualify"
    assert opportunity["active_stage"] == "qualify"
    view = check_position(client, headers, oid, "qualify", "1-Qualify", ["qualify"])
    assert view["status"] == "active"
    assert view["completed_at"] is None
    assert view["active_stage"]["name"] == "Qualify"
    assert view["missing_steps"] == [
        {"field": "contact_id", "label": "Identify Contact"},
        {"field": "account_id", "label": "Identify Account"},
    ]
    assert steps_of(view, "qualify") == {
        "contact_id": False,
        "account_id": False,
        "purchase_timeframe": False,
        "budget_amount": False,
        "purchase_process": False,
        "decision_maker_identified": False,
    }
    (qualify,) = [s for s in view["stages"] if s["key"] == "qualify"]
    assert [(s["label"], s["required"]) for s in qualify["steps"]][:2] == [
        ("Identify Contact", True),
        ("Identify Account", True),
    ]
    french = process_view(client, headers, oid, "fr")
    assert french["process"]["name"] == "Processus de vente d’opportunité"
    assert french["active_stage"]["name"] == "Qualifier"
    assert [s["name"] for s in french["stages"]] == [
        "Qualifier",
        "Développer",
        "Proposer",
        "Clôturer",
    ]
    assert french["missing_steps"] == [
        {"field": "contact_id", "label": "Identifier le contact"},
        {"field": "account_id", "label": "Identifier le compte"},
    ]

    # Fill Qualify step by step; each PATCH shows in the view.
    links = qualify_fields(client, headers)
    patch(client, headers, oid, contact_id=links["contact_id"])
    view = process_view(client, headers, oid)
    assert missing(view) == ["account_id"]
    assert steps_of(view, "qualify")["contact_id"] is True
    patch(
        client,
        headers,
        oid,
        account_id=links["account_id"],
        purchase_timeframe="this_quarter",
        budget_amount=50000,
        purchase_process="committee",
        decision_maker_identified=True,
    )
    view = process_view(client, headers, oid)
    assert missing(view) == []
    assert all(steps_of(view, "qualify").values())
    assert not any(steps_of(view, "develop").values())

    # → 2-Develop
    before = get(client, headers, oid)["version"]
    answer = client.post(f"/api/v1/opportunities/{oid}/process/next", headers=headers)
    assert answer.status_code == 200, answer.text
    moved = answer.json()
    assert moved["active_stage"]["key"] == "develop"
    assert moved["record_version"] == before + 1
    assert answer.headers["ETag"] == f'"{before + 1}"'
    view = check_position(client, headers, oid, "develop", "2-Develop", ["qualify", "develop"])
    started = datetime.fromisoformat(view["active_stage"]["started_at"])
    assert abs((datetime.now(UTC) - started).total_seconds()) < 120
    assert missing(view) == ["customer_need", "proposed_solution"]
    assert process_view(client, headers, oid, "fr")["missing_steps"] == [
        {"field": "customer_need", "label": "Besoin du client"},
        {"field": "proposed_solution", "label": "Solution proposée"},
    ]
    patch(
        client,
        headers,
        oid,
        customer_need="A CRM for 50 sellers",
        proposed_solution="oppflow, hosted",
        stakeholders_identified=True,
        competitors_identified=True,
    )
    view = process_view(client, headers, oid)
    assert missing(view) == []
    assert all(steps_of(view, "develop").values())

    # → 3-Propose (mark-complete steps); the estimated value changes on the way.
    move(client, headers, oid, "next")
    view = check_position(
        client, headers, oid, "propose", "3-Propose", ["qualify", "develop", "propose"]
    )
    assert view["missing_steps"] == [{"field": "proposal_presented", "label": "Present Proposal"}]
    patch(
        client,
        headers,
        oid,
        estimated_value=52000.5,
        sales_team_identified=True,
        proposal_developed=True,
        internal_review_completed=True,
    )
    assert missing(process_view(client, headers, oid)) == ["proposal_presented"]
    patch(client, headers, oid, proposal_presented=True)
    assert all(steps_of(process_view(client, headers, oid), "propose").values())

    # → 4-Close
    move(client, headers, oid, "next")
    view = check_position(client, headers, oid, "close", "4-Close", STAGES)
    assert view["missing_steps"] == [
        {"field": "final_decision_date", "label": "Confirm Decision Date"}
    ]
    assert process_view(client, headers, oid, "fr")["active_stage"]["name"] == "Clôturer"
    patch(
        client,
        headers,
        oid,
        final_proposal_completed=True,
        final_proposal_presented=True,
        final_decision_date="2026-06-30",
        thank_you_note_sent=True,
        debrief_filed=True,
    )
    view = process_view(client, headers, oid)
    assert missing(view) == []
    assert all(all(steps_of(view, stage).values()) for stage in STAGES)

    # finish: the instance is finished, the record stays on Close.
    finished = move(client, headers, oid, "finish")
    assert finished["status"] == "finished"
    assert finished["completed_at"] is not None
    view = check_position(client, headers, oid, "close", "4-Close", STAGES)
    assert view["status"] == "finished"

    # win: the actual revenue defaults to the estimated value at that moment.
    answer = client.post(f"/api/v1/opportunities/{oid}/win", json={}, headers=headers)
    assert answer.status_code == 200, answer.text
    won = answer.json()
    assert won["state"] == "won"
    assert won["status_reason"] == "won"
    assert won["forecast_category"] == "won"
    assert won["actual_value"] == 52000.5
    assert won["pipeline_phase"] == "4-Close"

    # The history: one row per stage change, oldest first, with the value at that moment.
    answer = client.get(f"/api/v1/opportunities/{oid}/history", headers=headers)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [(i["kind"], i["from_stage"], i["to_stage"], i["pipeline_phase"]) for i in items] == [
        ("start", None, "qualify", "1-Qualify"),
        ("next", "qualify", "develop", "2-Develop"),
        ("next", "develop", "propose", "3-Propose"),
        ("next", "propose", "close", "4-Close"),
        ("finish", "close", "close", "4-Close"),
    ]
    assert [i["estimated_value"] for i in items] == [48000, 48000, 48000, 52000.5, 52000.5]
    assert {i["process_key"] for i in items} == {"opportunity-sales-process"}
    assert {i["by"] for i in items} == {me["id"]}
    moments = [datetime.fromisoformat(i["at"]) for i in items]
    assert moments == sorted(moments)
    assert all(moment.utcoffset() is not None for moment in moments)


def test_the_journey_is_listed_by_phase(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    moved = create_opportunity(client, headers, name="Moved", **qualify_fields(client, headers))
    create_opportunity(client, headers, name="Stays")
    move(client, headers, moved["id"], "next")

    def names(phase: str) -> list[str]:
        answer = client.get(
            "/api/v1/opportunities", params={"pipeline_phase": phase}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return [item["name"] for item in answer.json()["items"]]

    assert names("1-Qualify") == ["Stays"]
    assert names("2-Develop") == ["Moved"]
    assert names("3-Propose") == []
