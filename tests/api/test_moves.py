"""Process moves through HTTP: every refusal, previous, set-active, finish, abandon, switch,
branching, and the pipeline phase across processes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create_opportunity, qualify_fields, signed_in

OSP = "opportunity-sales-process"
H = dict[str, str]

CONTACT = {"field": "contact_id", "label": "Identify Contact"}
ACCOUNT = {"field": "account_id", "label": "Identify Account"}
NEED = {"field": "customer_need", "label": "Customer Need"}
SOLUTION = {"field": "proposed_solution", "label": "Proposed Solution"}
PRESENTED = {"field": "proposal_presented", "label": "Present Proposal"}
DECISION = {"field": "final_decision_date", "label": "Confirm Decision Date"}
DEVELOPED = {"customer_need": "A CRM", "proposed_solution": "oppflow"}

# Stages named like the built-in ones, with other categories: the phase follows the category.
RESEARCH_PROCESS = """\
key: market-research
name: {en: Market research, fr: Étude de marché}
table: opportunity
stages:
- key: discover
  name: {en: Qualify, fr: Qualifier}
  category: identify
  steps:
  - field: account_id
    label: {en: Account, fr: Compte}
    required: true
- key: study
  name: {en: Close, fr: Clôturer}
  category: research
  steps:
  - field: customer_need
    label: {en: What they need, fr: Leur besoin}
    required: true
- key: wrap-up
  name: {en: Wrap up, fr: Conclure}
  category: close
"""

BRANCHING_PROCESS = """\
key: tiered-sale
name: {en: Tiered sale, fr: Vente par niveau}
table: opportunity
stages:
- key: qualify
  name: {en: Qualify, fr: Qualifier}
  category: qualify
  steps:
  - field: account_id
    label: {en: Account, fr: Compte}
    required: true
  - field: budget_amount
    label: {en: Budget, fr: Budget}
    required: true
  - field: purchase_process
    label: {en: Purchase process, fr: Procédure d'achat}
  branches:
  - when:
      match: any
      conditions:
      - {field: budget_amount, op: ge, value: 100000}
      - {field: purchase_process, op: eq, value: committee}
    stage: enterprise-develop
  next: develop
- key: develop
  name: {en: Develop, fr: Développer}
  category: develop
  next: close
- key: enterprise-develop
  name: {en: Enterprise develop, fr: Développer (grand compte)}
  category: propose
- key: close
  name: {en: Close, fr: Clôturer}
  category: close
"""


# --- Helpers ---------------------------------------------------------------------------------


def url(opportunity_id: str, tail: str = "") -> str:
    return f"/api/v1/opportunities/{opportunity_id}{tail}"


def post(client: TestClient, headers: H, opportunity_id: str, kind: str, **body: Any) -> Any:
    return client.post(url(opportunity_id, f"/process/{kind}"), json=body or None, headers=headers)


def ok(client: TestClient, headers: H, opportunity_id: str, kind: str, **body: Any) -> Any:
    answer = post(client, headers, opportunity_id, kind, **body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def patch(client: TestClient, headers: H, opportunity_id: str, **fields: Any) -> Any:
    answer = client.patch(url(opportunity_id), json=fields, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def history(client: TestClient, headers: H, opportunity_id: str) -> list[Any]:
    answer = client.get(url(opportunity_id, "/history"), headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[Any] = answer.json()["items"]
    return items


def snapshot(client: TestClient, headers: H, opportunity_id: str) -> dict[str, Any]:
    """Everything a refused move must leave as it was."""
    record = client.get(url(opportunity_id), headers=headers).json()
    view = client.get(url(opportunity_id, "/process"), headers=headers).json()
    return {
        "version": record["version"],
        "modified_at": record["modified_at"],
        "active_stage": record["active_stage"],
        "pipeline_phase": record["pipeline_phase"],
        "process_key": record["process_key"],
        "view": view,
        "history": len(history(client, headers, opportunity_id)),
    }


def refused(
    client: TestClient, headers: H, opportunity_id: str, kind: str, **body: Any
) -> dict[str, Any]:
    """Make a move that must be refused with 409; check it changed nothing; return the problem."""
    before = snapshot(client, headers, opportunity_id)
    answer = post(client, headers, opportunity_id, kind, **body)
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == 409
    assert problem["detail"]
    assert snapshot(client, headers, opportunity_id) == before
    return problem


def gate(
    client: TestClient, headers: H, opportunity_id: str, kind: str = "next"
) -> list[dict[str, str]]:
    """The missing steps a refused next (or finish) names."""
    problem = refused(client, headers, opportunity_id, kind)
    assert problem["type"] == "https://oppflow.dev/problems/stage-gate-refused"
    steps: list[dict[str, str]] = problem["missing_steps"]
    return steps


def admin(client: TestClient, factory: sessionmaker[Session]) -> H:
    return signed_in(client, factory, "admin", roles=["system-administrator"])


def import_process(client: TestClient, headers: H, yaml: str) -> Any:
    answer = client.post("/api/v1/processes", json={"yaml": yaml}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def on_develop(client: TestClient, headers: H, **fields: Any) -> str:
    opportunity = create_opportunity(client, headers, **qualify_fields(client, headers), **fields)
    ok(client, headers, opportunity["id"], "next")
    return str(opportunity["id"])


def on_close(client: TestClient, headers: H) -> str:
    oid = on_develop(client, headers, **DEVELOPED, proposal_presented=True)
    ok(client, headers, oid, "next")
    ok(client, headers, oid, "next")
    return oid


# --- The gates -------------------------------------------------------------------------------


def test_qualify_without_contact_and_account_names_both(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(
        client,
        headers,
        purchase_timeframe="immediate",
        budget_amount=1000,
        purchase_process="individual",
        decision_maker_identified=True,
    )
    assert gate(client, headers, opportunity["id"]) == [CONTACT, ACCOUNT]


@pytest.mark.parametrize(("given", "expected"), [("contact_id", ACCOUNT), ("account_id", CONTACT)])
def test_qualify_with_one_of_the_two_names_the_other(
    client: TestClient, factory: sessionmaker[Session], given: str, expected: dict[str, str]
) -> None:
    headers = signed_in(client, factory)
    links = qualify_fields(client, headers)
    opportunity = create_opportunity(client, headers, **{given: links[given]})
    assert gate(client, headers, opportunity["id"]) == [expected]


def test_clearing_a_filled_step_closes_the_gate_again(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers, **qualify_fields(client, headers))
    patch(client, headers, opportunity["id"], contact_id=None)
    assert gate(client, headers, opportunity["id"]) == [CONTACT]


def test_develop_names_its_missing_required_steps(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = on_develop(client, headers)
    patch(client, headers, oid, stakeholders_identified=True, competitors_identified=True)
    assert gate(client, headers, oid) == [NEED, SOLUTION]
    patch(client, headers, oid, customer_need="A CRM", proposed_solution="   ")
    assert gate(client, headers, oid) == [SOLUTION]
    patch(client, headers, oid, customer_need=None, proposed_solution="oppflow")
    assert gate(client, headers, oid) == [NEED]
    patch(client, headers, oid, customer_need="A CRM")
    assert ok(client, headers, oid, "next")["active_stage"]["key"] == "propose"


def test_propose_needs_only_the_presented_proposal(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = on_develop(client, headers, **DEVELOPED)
    ok(client, headers, oid, "next")
    assert gate(client, headers, oid) == [PRESENTED]
    patch(
        client,
        headers,
        oid,
        sales_team_identified=True,
        proposal_developed=True,
        internal_review_completed=True,
    )
    assert gate(client, headers, oid) == [PRESENTED]
    patch(
        client,
        headers,
        oid,
        sales_team_identified=False,
        proposal_developed=False,
        internal_review_completed=False,
        proposal_presented=True,
    )
    assert ok(client, headers, oid, "next")["active_stage"]["key"] == "close"


def test_close_needs_the_decision_date_to_finish(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = on_close(client, headers)
    problem = refused(client, headers, oid, "next")  # the last stage has no next
    assert "finish" in problem["detail"]
    assert "missing_steps" not in problem
    patch(
        client,
        headers,
        oid,
        final_proposal_completed=True,
        final_proposal_presented=True,
        thank_you_note_sent=True,
        debrief_filed=True,
    )
    assert gate(client, headers, oid, "finish") == [DECISION]
    patch(client, headers, oid, final_decision_date="2026-09-30")
    view = ok(client, headers, oid, "finish")
    assert view["status"] == "finished"
    assert view["active_stage"]["key"] == "close"
    refused(client, headers, oid, "finish")  # already finished


def test_a_refused_move_answers_in_the_callers_language(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers)
    missing = gate(client, headers | {"Accept-Language": "fr"}, opportunity["id"])
    assert missing == [
        {"field": "contact_id", "label": "Identifier le contact"},
        {"field": "account_id", "label": "Identifier le compte"},
    ]


def test_a_refused_move_of_an_unknown_opportunity_is_404(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    answer = post(client, headers, "00000000-0000-4000-8000-000000000000", "next")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


# --- Previous, set active, finish ------------------------------------------------------------


def test_previous_walks_back_the_traversed_path(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = on_develop(client, headers, **DEVELOPED)
    ok(client, headers, oid, "next")
    view = ok(client, headers, oid, "previous")
    assert view["active_stage"]["key"] == "develop"
    assert view["traversed_path"] == ["qualify", "develop"]
    view = ok(client, headers, oid, "previous")
    assert view["traversed_path"] == ["qualify"]
    record = client.get(url(oid), headers=headers).json()
    assert (record["active_stage"], record["pipeline_phase"]) == ("qualify", "1-Qualify")
    problem = refused(client, headers, oid, "previous")
    assert problem["type"] == "https://oppflow.dev/problems/move-refused"
    rows = history(client, headers, oid)
    assert [(r["kind"], r["from_stage"], r["to_stage"], r["pipeline_phase"]) for r in rows] == [
        ("start", None, "qualify", "1-Qualify"),
        ("next", "qualify", "develop", "2-Develop"),
        ("next", "develop", "propose", "3-Propose"),
        ("previous", "propose", "develop", "2-Develop"),
        ("previous", "develop", "qualify", "1-Qualify"),
    ]


def test_set_active_goes_back_to_a_traversed_stage_only(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = on_develop(client, headers, **DEVELOPED, proposal_presented=True)
    ok(client, headers, oid, "next")
    refused(client, headers, oid, "set-active", stage="close")  # not traversed yet
    refused(client, headers, oid, "set-active", stage="propose")  # already active
    refused(client, headers, oid, "set-active", stage="negotiate")  # no such stage
    view = ok(client, headers, oid, "set-active", stage="qualify")
    assert view["active_stage"]["key"] == "qualify"
    assert view["traversed_path"] == ["qualify"]
    record = client.get(url(oid), headers=headers).json()
    assert (record["active_stage"], record["pipeline_phase"]) == ("qualify", "1-Qualify")
    # develop was dropped from the path: it cannot be made active any more
    refused(client, headers, oid, "set-active", stage="develop")
    last = history(client, headers, oid)[-1]
    assert (last["kind"], last["from_stage"], last["to_stage"]) == (
        "set_active",
        "propose",
        "qualify",
    )
    # the walk forward starts again from there
    assert ok(client, headers, oid, "next")["traversed_path"] == ["qualify", "develop"]


def test_set_active_needs_a_stage(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    oid = on_develop(client, headers)
    for body in ({}, {"stage": ""}, {"stage": "qualify", "extra": 1}):
        answer = client.post(url(oid, "/process/set-active"), json=body, headers=headers)
        assert answer.status_code == 422, answer.text
    assert len(history(client, headers, oid)) == 2


@pytest.mark.parametrize("stage", ["qualify", "develop", "propose"])
def test_finish_is_refused_before_the_last_stage(
    client: TestClient, factory: sessionmaker[Session], stage: str
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(
        client,
        headers,
        **qualify_fields(client, headers),
        **DEVELOPED,
        proposal_presented=True,
        final_decision_date="2026-09-30",
    )
    oid = opportunity["id"]
    while client.get(url(oid), headers=headers).json()["active_stage"] != stage:
        ok(client, headers, oid, "next")
    problem = refused(client, headers, oid, "finish")
    assert "last stage" in problem["detail"]


# --- Abandon and reactivate ------------------------------------------------------------------


def test_an_abandoned_process_refuses_moves_until_reactivated(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = on_develop(client, headers, **DEVELOPED)
    view = ok(client, headers, oid, "abandon")
    assert view["status"] == "aborted"
    assert view["completed_at"] is not None
    assert view["active_stage"]["key"] == "develop"
    for kind, body in [
        ("next", {}),
        ("previous", {}),
        ("set-active", {"stage": "qualify"}),
        ("finish", {}),
        ("abandon", {}),
    ]:
        problem = refused(client, headers, oid, kind, **body)
        assert "reactivate" in problem["detail"]
    # the record's fields can still be edited while the process is abandoned
    patch(client, headers, oid, proposal_presented=True)
    view = ok(client, headers, oid, "reactivate")
    assert view["status"] == "active"
    assert view["completed_at"] is None
    assert view["traversed_path"] == ["qualify", "develop"]
    refused(client, headers, oid, "reactivate")
    assert ok(client, headers, oid, "next")["active_stage"]["key"] == "propose"
    kinds = [(r["kind"], r["to_stage"], r["pipeline_phase"]) for r in history(client, headers, oid)]
    assert kinds[2:] == [
        ("abandon", "develop", "2-Develop"),
        ("reactivate", "develop", "2-Develop"),
        ("next", "propose", "3-Propose"),
    ]


def test_a_finished_process_is_reactivated_on_its_last_stage(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    oid = on_close(client, headers)
    patch(client, headers, oid, final_decision_date="2026-09-30")
    ok(client, headers, oid, "finish")
    refused(client, headers, oid, "previous")
    view = ok(client, headers, oid, "reactivate")
    assert (view["status"], view["active_stage"]["key"]) == ("active", "close")
    assert ok(client, headers, oid, "previous")["active_stage"]["key"] == "propose"


# --- Switching process -----------------------------------------------------------------------


def test_switch_to_a_custom_process_and_back_resumes_where_it_was(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    imported = import_process(client, admin(client, factory), RESEARCH_PROCESS)
    assert imported["stages"] == ["discover", "study", "wrap-up"]
    oid = on_develop(client, headers)
    version = client.get(url(oid), headers=headers).json()["version"]

    answer = client.post(
        url(oid, "/process/switch"), json={"process": "market-research"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] == f'"{version + 1}"'
    view = answer.json()
    assert view["process"]["key"] == "market-research"
    assert view["active_stage"]["key"] == "discover"
    assert view["traversed_path"] == ["discover"]
    assert view["missing_steps"] == []  # the account is already there
    (other,) = view["instances"]
    assert other["process"]["key"] == OSP
    assert (other["status"], other["active_stage"]["key"]) == ("active", "develop")
    record = client.get(url(oid), headers=headers).json()
    assert record["process_key"] == "market-research"
    assert (record["active_stage"], record["pipeline_phase"]) == ("discover", "5-Identify")
    # the moves now run on the custom process
    refused(client, headers, oid, "previous")
    view = ok(client, headers, oid, "next")
    assert view["active_stage"]["key"] == "study"

    view = ok(client, headers, oid, "switch", process=OSP)
    assert view["process"]["key"] == OSP
    assert view["active_stage"]["key"] == "develop"
    assert view["traversed_path"] == ["qualify", "develop"]
    assert view["missing_steps"] == [NEED, SOLUTION]
    (other,) = view["instances"]
    assert (other["process"]["key"], other["active_stage"]["key"]) == ("market-research", "study")
    record = client.get(url(oid), headers=headers).json()
    assert (record["process_key"], record["active_stage"]) == (OSP, "develop")
    assert record["pipeline_phase"] == "2-Develop"

    view = ok(client, headers, oid, "switch", process="market-research")
    assert (view["active_stage"]["key"], view["traversed_path"]) == ("study", ["discover", "study"])

    rows = [
        (r["process_key"], r["kind"], r["from_stage"], r["to_stage"], r["pipeline_phase"])
        for r in history(client, headers, oid)
    ]
    assert rows == [
        (OSP, "start", None, "qualify", "1-Qualify"),
        (OSP, "next", "qualify", "develop", "2-Develop"),
        ("market-research", "switch", "develop", "discover", "5-Identify"),
        ("market-research", "next", "discover", "study", "6-Research"),
        (OSP, "switch", "study", "develop", "2-Develop"),
        ("market-research", "switch", "develop", "study", "6-Research"),
    ]


def test_switch_refusals_change_nothing(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    oid = on_develop(client, headers)
    refused(client, headers, oid, "switch", process=OSP)  # already current
    # a lead process starts on the lead: an opportunity cannot start it
    refused(client, headers, oid, "switch", process="lead-to-opportunity-sales-process")
    before = snapshot(client, headers, oid)
    answer = post(client, headers, oid, "switch", process="no-such-process")
    assert answer.status_code == 404, answer.text
    assert snapshot(client, headers, oid) == before


def test_an_opportunity_cannot_start_on_a_lead_process(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    answer = client.post(
        "/api/v1/opportunities",
        json={"name": "Wrong start", "process_key": "lead-to-opportunity-sales-process"},
        headers=headers,
    )
    assert answer.status_code == 409, answer.text
    listed = client.get("/api/v1/opportunities", headers=headers).json()
    assert listed["items"] == []


def test_a_new_version_of_a_process_leaves_running_instances_on_theirs(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers, administrator = signed_in(client, factory), admin(client, factory)
    import_process(client, administrator, RESEARCH_PROCESS)
    links = qualify_fields(client, headers)
    first = create_opportunity(client, headers, process_key="market-research", **links)
    assert (first["active_stage"], first["pipeline_phase"]) == ("discover", "5-Identify")
    second_version = RESEARCH_PROCESS.replace(
        "- key: wrap-up",
        "- key: approve\n  name: {en: Approve, fr: Approuver}\n"
        "  category: approval\n- key: wrap-up",
    )
    imported = import_process(client, administrator, second_version)
    assert imported["version"] == 2
    assert imported["stages"] == ["discover", "study", "approve", "wrap-up"]

    view = client.get(url(first["id"], "/process"), headers=headers).json()
    assert view["process"]["version"] == 1
    assert [s["key"] for s in view["stages"]] == ["discover", "study", "wrap-up"]
    patch(client, headers, first["id"], customer_need="A CRM")
    ok(client, headers, first["id"], "next")
    assert ok(client, headers, first["id"], "next")["active_stage"]["key"] == "wrap-up"

    second = create_opportunity(client, headers, process_key="market-research", **links)
    patch(client, headers, second["id"], customer_need="A CRM")
    ok(client, headers, second["id"], "next")
    view = ok(client, headers, second["id"], "next")
    assert (view["process"]["version"], view["active_stage"]["key"]) == (2, "approve")
    record = client.get(url(second["id"]), headers=headers).json()
    assert record["pipeline_phase"] == "8-Approval"


def test_an_inactive_process_cannot_be_started_by_a_switch(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers, administrator = signed_in(client, factory), admin(client, factory)
    import_process(client, administrator, RESEARCH_PROCESS)
    answer = client.patch(
        "/api/v1/processes/market-research", json={"is_active": False}, headers=administrator
    )
    assert answer.status_code == 200, answer.text
    oid = on_develop(client, headers)
    refused(client, headers, oid, "switch", process="market-research")


def test_a_create_starts_the_first_active_process_in_display_order(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers, administrator = signed_in(client, factory), admin(client, factory)
    import_process(client, administrator, RESEARCH_PROCESS)
    research = "/api/v1/processes/market-research"
    first = client.patch(research, json={"display_order": 0}, headers=administrator)
    assert first.status_code == 200, first.text
    assert create_opportunity(client, headers)["process_key"] == "market-research"
    inactive = client.patch(research, json={"is_active": False}, headers=administrator)
    assert inactive.status_code == 200, inactive.text
    assert create_opportunity(client, headers)["process_key"] == "opportunity-sales-process"


def test_importing_a_process_needs_a_system_administrator(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    answer = client.post("/api/v1/processes", json={"yaml": RESEARCH_PROCESS}, headers=headers)
    assert answer.status_code == 403, answer.text
    assert client.get("/api/v1/processes/market-research", headers=headers).status_code == 404


# --- Branching -------------------------------------------------------------------------------


def tiered(client: TestClient, headers: H, **fields: Any) -> str:
    account = client.post("/api/v1/accounts", json={"name": "Fabrikam"}, headers=headers).json()
    opportunity = create_opportunity(
        client, headers, process_key="tiered-sale", account_id=account["id"], **fields
    )
    assert opportunity["process_key"] == "tiered-sale"
    assert (opportunity["active_stage"], opportunity["pipeline_phase"]) == ("qualify", "1-Qualify")
    return str(opportunity["id"])


def test_a_branch_picks_the_next_stage_from_the_fields_of_the_stage_left(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    import_process(client, admin(client, factory), BRANCHING_PROCESS)

    big = tiered(client, headers, budget_amount=250000)
    view = ok(client, headers, big, "next")
    assert view["traversed_path"] == ["qualify", "enterprise-develop"]
    assert client.get(url(big), headers=headers).json()["pipeline_phase"] == "3-Propose"
    view = ok(client, headers, big, "next")
    assert view["traversed_path"] == ["qualify", "enterprise-develop", "close"]

    small = tiered(client, headers, budget_amount=99999.99)
    view = ok(client, headers, small, "next")
    assert view["traversed_path"] == ["qualify", "develop"]
    assert client.get(url(small), headers=headers).json()["pipeline_phase"] == "2-Develop"
    # develop's `next` skips enterprise-develop
    assert ok(client, headers, small, "next")["traversed_path"] == ["qualify", "develop", "close"]

    committee = tiered(client, headers, budget_amount=10, purchase_process="committee")
    assert ok(client, headers, committee, "next")["active_stage"]["key"] == "enterprise-develop"

    # the gate still applies whichever way the branch points
    unbudgeted = tiered(client, headers, purchase_process="committee")
    assert gate(client, headers, unbudgeted) == [{"field": "budget_amount", "label": "Budget"}]


def test_going_back_and_changing_the_fields_takes_the_other_branch(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    import_process(client, admin(client, factory), BRANCHING_PROCESS)
    oid = tiered(client, headers, budget_amount=150000)
    assert ok(client, headers, oid, "next")["active_stage"]["key"] == "enterprise-develop"
    ok(client, headers, oid, "previous")
    patch(client, headers, oid, budget_amount=5000)
    view = ok(client, headers, oid, "next")
    assert view["traversed_path"] == ["qualify", "develop"]
    refused(client, headers, oid, "set-active", stage="enterprise-develop")
    phases = [r["pipeline_phase"] for r in history(client, headers, oid)]
    assert phases == ["1-Qualify", "3-Propose", "1-Qualify", "2-Develop"]


def test_a_branch_to_an_unknown_stage_is_refused_at_import(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    administrator = admin(client, factory)
    broken = BRANCHING_PROCESS.replace("stage: enterprise-develop", "stage: nowhere")
    answer = client.post("/api/v1/processes", json={"yaml": broken}, headers=administrator)
    assert answer.status_code == 422, answer.text
    assert "nowhere" in answer.json()["detail"]
    assert client.get("/api/v1/processes/tiered-sale", headers=administrator).status_code == 404


# --- The pipeline phase across processes -----------------------------------------------------


def test_the_phase_follows_the_category_through_two_processes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    import_process(client, admin(client, factory), RESEARCH_PROCESS)
    links = qualify_fields(client, headers)
    oid = on_develop(client, headers, **DEVELOPED)
    ok(client, headers, oid, "next")  # propose, 3-Propose

    def phase() -> tuple[str, str, str]:
        record = client.get(url(oid), headers=headers).json()
        return record["process_key"], record["active_stage"], record["pipeline_phase"]

    assert phase() == (OSP, "propose", "3-Propose")
    ok(client, headers, oid, "switch", process="market-research")
    # the stage is *named* Qualify, but its category is identify
    assert phase() == ("market-research", "discover", "5-Identify")
    view = ok(client, headers, oid, "next")
    assert view["active_stage"]["name"] == "Close"
    assert phase() == ("market-research", "study", "6-Research")
    ok(client, headers, oid, "switch", process=OSP)
    assert phase() == (OSP, "propose", "3-Propose")
    ok(client, headers, oid, "previous")
    assert phase() == (OSP, "develop", "2-Develop")
    ok(client, headers, oid, "switch", process="market-research")
    assert phase() == ("market-research", "study", "6-Research")
    ok(client, headers, oid, "next")
    assert phase() == ("market-research", "wrap-up", "4-Close")

    # a second opportunity, still on the built-in process, shares the phase axis
    other = create_opportunity(client, headers, name="Other", **links)
    listed = client.get(
        "/api/v1/opportunities", params={"pipeline_phase": "4-Close"}, headers=headers
    ).json()["items"]
    assert [item["id"] for item in listed] == [oid]
    assert other["pipeline_phase"] == "1-Qualify"
    assert [r["pipeline_phase"] for r in history(client, headers, oid)] == [
        "1-Qualify",
        "2-Develop",
        "3-Propose",
        "5-Identify",
        "6-Research",
        "3-Propose",
        "2-Develop",
        "6-Research",
        "4-Close",
    ]
