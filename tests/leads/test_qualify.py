"""Qualifying a lead through HTTP: the journey to Develop, all-or-nothing, duplicates."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.errors import ValidationFailed
from oppflow.leads import service as lead_service
from oppflow.leads.schemas import QualifyRequest
from oppflow.models import (
    Account,
    Contact,
    Lead,
    Opportunity,
    ProcessInstance,
    StageHistory,
    Stakeholder,
)
from oppflow.security.service import actor_by_username
from tests.helpers import create, create_lead, signed_in

LEAD = {
    "topic": "CRM roll-out for Fabrikam",
    "first_name": "Dana",
    "last_name": "Lopez",
    "company_name": "Fabrikam Ltd",
    "email": "dana.lopez@fabrikam.example",
    "phone": "+1 555 200 3000",
    "estimated_value": 48000,
    "source": "trade_show",
    "description": "Met at the spring trade show.",
    "purchase_timeframe": "this_quarter",
    "budget_amount": 50000,
    "purchase_process": "committee",
    "decision_maker_identified": True,
}


def qualify(client: TestClient, headers: dict[str, str], lead_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/leads/{lead_id}/qualify", json=body, headers=headers)


def get(client: TestClient, headers: dict[str, str], path: str) -> Any:
    answer = client.get(f"/api/v1/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows of every table qualifying may write."""
    with factory() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Account, Contact, Opportunity, ProcessInstance, StageHistory, Stakeholder)
        }


def test_the_qualify_journey_lands_on_develop_with_the_lead_fields(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    note = client.post(
        f"/api/v1/leads/{lead['id']}/notes", json={"text": "Wants a demo."}, headers=headers
    )
    assert note.status_code == 201, note.text

    answer = qualify(client, headers, lead["id"])
    assert answer.status_code == 200, answer.text
    ids = answer.json()
    assert set(ids) == {"account_id", "contact_id", "opportunity_id"}

    opportunity = get(client, headers, f"opportunities/{ids['opportunity_id']}")
    assert opportunity["name"] == LEAD["topic"]
    for field in (
        "estimated_value",
        "description",
        "purchase_timeframe",
        "budget_amount",
        "purchase_process",
        "decision_maker_identified",
    ):
        assert opportunity[field] == LEAD[field], field
    assert opportunity["owner_id"] == lead["owner_id"]
    assert opportunity["originating_lead_id"] == lead["id"]
    assert opportunity["account_id"] == ids["account_id"]
    assert opportunity["contact_id"] == ids["contact_id"]
    assert opportunity["process_key"] == "lead-to-opportunity-sales-process"
    assert opportunity["active_stage"] == "develop"
    assert opportunity["pipeline_phase"] == "2-Develop"

    view = get(client, headers, f"opportunities/{ids['opportunity_id']}/process")
    assert view["process"]["key"] == "lead-to-opportunity-sales-process"
    assert view["traversed_path"] == ["qualify", "develop"]
    assert view["active_stage"]["key"] == "develop"
    assert [(s["key"], s["table"]) for s in view["stages"]] == [
        ("qualify", "lead"),
        ("develop", "opportunity"),
        ("propose", "opportunity"),
        ("close", "opportunity"),
    ]
    history = get(client, headers, f"opportunities/{ids['opportunity_id']}/history")["items"]
    assert [(h["kind"], h["from_stage"], h["to_stage"], h["pipeline_phase"]) for h in history] == [
        ("next", "qualify", "develop", "2-Develop")
    ]
    with factory() as session:
        row = session.scalars(select(StageHistory).where(StageHistory.kind == "next")).one()
        assert (str(row.lead_id), str(row.opportunity_id)) == (lead["id"], ids["opportunity_id"])

    account = get(client, headers, f"accounts/{ids['account_id']}")
    assert account["name"] == "Fabrikam Ltd"
    contact = get(client, headers, f"contacts/{ids['contact_id']}")
    assert (contact["first_name"], contact["last_name"], contact["email"]) == (
        "Dana",
        "Lopez",
        "dana.lopez@fabrikam.example",
    )
    assert contact["account_id"] == ids["account_id"]

    qualified = get(client, headers, f"leads/{lead['id']}")
    assert (qualified["state"], qualified["status_reason"]) == ("qualified", "qualified")
    assert qualified["qualified_opportunity_id"] == ids["opportunity_id"]
    assert qualified["qualified_account_id"] == ids["account_id"]
    assert qualified["qualified_contact_id"] == ids["contact_id"]

    # The opportunity's contact is a stakeholder; the lead's notes show on the opportunity.
    stakeholders = get(client, headers, f"opportunities/{ids['opportunity_id']}/stakeholders")
    assert [(s["contact_id"], s["role"]) for s in stakeholders["items"]] == [
        (ids["contact_id"], "stakeholder")
    ]
    notes = get(client, headers, f"opportunities/{ids['opportunity_id']}/notes")["items"]
    assert [(n["text"], n["lead_id"]) for n in notes] == [("Wants a demo.", lead["id"])]
    # The lead's process view follows the instance to the opportunity.
    assert get(client, headers, f"leads/{lead['id']}/process")["traversed_path"] == [
        "qualify",
        "develop",
    ]


def test_the_opportunity_moves_on_but_never_back_to_the_lead_stage(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    opportunity_id = qualify(client, headers, lead["id"]).json()["opportunity_id"]
    back = client.post(f"/api/v1/opportunities/{opportunity_id}/process/previous", headers=headers)
    assert back.status_code == 409, back.text
    assert "lead" in back.json()["detail"]
    client.patch(
        f"/api/v1/opportunities/{opportunity_id}",
        json={"customer_need": "A shared pipeline.", "proposed_solution": "oppflow."},
        headers=headers,
    )
    moved = client.post(f"/api/v1/opportunities/{opportunity_id}/process/next", headers=headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["traversed_path"] == ["qualify", "develop", "propose"]


def test_a_new_lead_runs_qualify_on_the_lead(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, topic="Printers", purchase_timeframe="this_year")
    view = get(client, headers, f"leads/{lead['id']}/process")
    assert view["process"]["key"] == "lead-to-opportunity-sales-process"
    assert view["active_stage"]["key"] == "qualify"
    assert view["traversed_path"] == ["qualify"]
    assert view["record_version"] == lead["version"]
    steps = {s["field"]: s["complete"] for s in view["stages"][0]["steps"]}
    assert steps["purchase_timeframe"] is True
    assert steps["budget_amount"] is False
    with factory() as session:
        (row,) = session.scalars(select(StageHistory)).all()
        assert (row.kind, row.to_stage, row.pipeline_phase) == ("start", "qualify", "1-Qualify")
        assert (str(row.lead_id), row.opportunity_id) == (lead["id"], None)


def test_a_failure_half_way_leaves_no_account_contact_or_opportunity(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    before = counts(factory)
    # The account is created first; the contact to link does not exist, so it fails after it.
    answer = qualify(
        client, headers, lead["id"], create_account=True, existing_contact_id=str(uuid.uuid4())
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "existing_contact_id"
    assert counts(factory) == before
    assert get(client, headers, "accounts")["items"] == []
    assert get(client, headers, "contacts")["items"] == []
    assert get(client, headers, "opportunities")["items"] == []
    after = get(client, headers, f"leads/{lead['id']}")
    assert (after["state"], after["version"]) == ("open", lead["version"])
    assert get(client, headers, f"leads/{lead['id']}/process")["active_stage"]["key"] == "qualify"


def test_the_savepoint_undoes_a_half_done_qualification_inside_a_larger_unit_of_work(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    before = counts(factory)
    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        data = QualifyRequest(existing_contact_id=uuid.uuid4())
        with pytest.raises(ValidationFailed):
            lead_service.qualify(session, actor=actor, lead_id=uuid.UUID(lead["id"]), data=data)
        # The caller goes on and commits: nothing of the failed qualification may come with it.
    assert counts(factory) == before
    with factory() as session:
        found = session.get(Lead, uuid.UUID(lead["id"]))
        assert found is not None
        assert found.state == "open"


def test_duplicates_answer_409_with_the_matches_then_succeed_when_linked(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    account = create(client, headers, "accounts", name="FABRIKAM, Inc.")
    contact = create(
        client, headers, "contacts", last_name="Lopez", email="Dana.Lopez@Fabrikam.example"
    )
    create(client, headers, "accounts", name="Fabrikam Robotics")  # not a match
    lead = create_lead(client, headers, **LEAD)
    before = counts(factory)

    refused = qualify(client, headers, lead["id"])
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["duplicates"] == [
        {"table": "account", "id": account["id"], "name": "FABRIKAM, Inc."},
        {"table": "contact", "id": contact["id"], "name": "Lopez"},
    ]
    assert "FABRIKAM, Inc." in problem["detail"]
    assert counts(factory) == before
    assert get(client, headers, f"leads/{lead['id']}")["state"] == "open"

    # Linking the account alone still meets the contact duplicate.
    half = qualify(client, headers, lead["id"], existing_account_id=account["id"])
    assert half.status_code == 409, half.text
    assert [d["table"] for d in half.json()["duplicates"]] == ["contact"]

    linked = qualify(
        client,
        headers,
        lead["id"],
        existing_account_id=account["id"],
        existing_contact_id=contact["id"],
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["account_id"] == account["id"]
    assert linked.json()["contact_id"] == contact["id"]
    assert len(get(client, headers, "accounts")["items"]) == 2
    assert len(get(client, headers, "contacts")["items"]) == 1
    opportunity = get(client, headers, f"opportunities/{linked.json()['opportunity_id']}")
    assert (opportunity["account_id"], opportunity["contact_id"]) == (account["id"], contact["id"])


def test_ignore_duplicates_creates_them_anyway(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    create(client, headers, "accounts", name="Fabrikam")
    lead = create_lead(client, headers, **LEAD)
    answer = qualify(client, headers, lead["id"], ignore_duplicates=True)
    assert answer.status_code == 200, answer.text
    names = sorted(a["name"] for a in get(client, headers, "accounts")["items"])
    assert names == ["Fabrikam", "Fabrikam Ltd"]


def test_existing_records_named_on_the_lead_are_linked(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    account = create(client, headers, "accounts", name="Fabrikam Ltd")
    contact = create(client, headers, "contacts", last_name="Lopez", account_id=account["id"])
    lead = create_lead(
        client, headers, **LEAD | {"account_id": account["id"], "contact_id": contact["id"]}
    )
    answer = qualify(client, headers, lead["id"])
    assert answer.status_code == 200, answer.text
    assert (answer.json()["account_id"], answer.json()["contact_id"]) == (
        account["id"],
        contact["id"],
    )


def test_qualifying_without_an_opportunity_or_with_only_what_the_lead_has(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    answer = qualify(client, headers, lead["id"], create_opportunity=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["opportunity_id"] is None
    assert answer.json()["account_id"] is not None
    assert get(client, headers, f"leads/{lead['id']}")["state"] == "qualified"
    assert get(client, headers, "opportunities")["items"] == []

    # A lead with no company and no last name gives an opportunity alone.
    bare = create_lead(client, headers, topic="Just a topic")
    answer = qualify(client, headers, bare["id"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["account_id"] is None
    assert answer.json()["contact_id"] is None
    assert answer.json()["opportunity_id"] is not None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {"create_account": True, "existing_account_id": "00000000-0000-4000-8000-000000000000"},
            422,
        ),
        ({"existing_account_id": "00000000-0000-4000-8000-000000000000"}, 422),
        ({"create_opportunity": None}, 422),
        ({"no_such_option": True}, 422),
    ],
)
def test_bad_qualify_requests_change_nothing(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], status: int
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    before = counts(factory)
    answer = qualify(client, headers, lead["id"], **body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert counts(factory) == before


def test_asking_to_create_what_the_lead_cannot_give_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, topic="No company here", last_name="Lopez")
    answer = qualify(client, headers, lead["id"], create_account=True)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "create_account"


def test_a_qualified_lead_cannot_be_qualified_again(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    assert qualify(client, headers, lead["id"]).status_code == 200
    again = qualify(client, headers, lead["id"], ignore_duplicates=True)
    assert again.status_code == 409, again.text
    # Reactivated, it is open again but keeps its opportunity: still not qualified twice.
    client.post(f"/api/v1/leads/{lead['id']}/reactivate", headers=headers)
    again = qualify(client, headers, lead["id"], ignore_duplicates=True)
    assert again.status_code == 409, again.text
    assert len(get(client, headers, "opportunities")["items"]) == 1


def test_a_stale_if_match_refuses_the_qualification(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create_lead(client, headers, **LEAD)
    answer = client.post(
        f"/api/v1/leads/{lead['id']}/qualify", json={}, headers=headers | {"If-Match": '"9"'}
    )
    assert answer.status_code == 412, answer.text
