"""Import jobs through the API on SQLite and PostgreSQL: an upload answers 202, the worker runs
it as its owner (``runner.run_next``, one turn of the worker's loop), progress and counts on
the job, the refused rows in a CSV report; saved mappings each user's own; bad input 4xx."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import utcnow
from oppflow.db import unit_of_work
from oppflow.imports import bulk, runner
from oppflow.models import ImportJob
from tests.helpers import create_user, login, signed_in

ACCOUNTS = (
    "Account Name;emailaddress1;Colour\n"
    "Fabrikam;info@fabrikam.example;red\n"
    ";nobody@example.com;blue\n"
    "Northwind;=cmd|' /C calc'!A0;green\n"
    "Contoso;sales@contoso.example;\n"
)


def upload(
    client: TestClient,
    headers: dict[str, str],
    text: str = ACCOUNTS,
    *,
    name: str = "accounts.csv",
    **fields: str,
) -> Any:
    fields.setdefault("table", "accounts")
    files = {"file": (name, text.encode("utf-8"), "text/csv")}
    return client.post("/api/v1/imports", files=files, data=fields, headers=headers)


def queued(client: TestClient, headers: dict[str, str], **fields: str) -> dict[str, Any]:
    answer = upload(client, headers, **fields)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def account_names(client: TestClient, headers: dict[str, str]) -> list[str]:
    items = client.get("/api/v1/accounts", headers=headers).json()["items"]
    return sorted(item["name"] for item in items)


def report_rows(client: TestClient, headers: dict[str, str], job_id: str) -> list[list[str]]:
    answer = client.get(f"/api/v1/imports/{job_id}/report", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text)))


def test_an_upload_is_queued_then_run_by_the_worker_with_a_report(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    answer = upload(client, headers)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["Location"] == f"/api/v1/imports/{job['id']}"
    assert job["status"] == "queued"
    assert job["mapping"] == {"Account Name": "name", "emailaddress1": "email"}
    assert client.get(f"/api/v1/imports/{job['id']}/report", headers=headers).status_code == 409

    assert runner.run_next(factory) is True
    assert runner.run_next(factory) is False  # nothing else queued

    done = client.get(answer.headers["Location"], headers=headers).json()
    assert done["status"] == "done", done
    assert (done["rows_total"], done["rows_done"]) == (4, 4)
    assert (done["created"], done["existing"], done["refused"]) == (2, 0, 2)
    assert account_names(client, headers) == ["Contoso", "Fabrikam"]
    rows = report_rows(client, headers, job["id"])
    assert rows[0] == ["row", "column", "value", "why"]
    assert [row[:2] for row in rows[1:]] == [["2", "name"], ["3", "email"]]
    # The refused value is quoted neutralised: a spreadsheet shows it, never runs it.
    assert rows[2][2] == "'=cmd|' /C calc'!A0"


def test_a_dry_run_counts_and_reports_but_creates_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    job = queued(client, headers, dry_run="true")
    runner.run_next(factory)
    done = client.get(f"/api/v1/imports/{job['id']}", headers=headers).json()
    assert (done["status"], done["dry_run"], done["created"], done["refused"]) == (
        "done",
        True,
        2,
        2,
    )
    assert done["rows_done"] == 4
    assert account_names(client, headers) == []
    assert len(report_rows(client, headers, job["id"])) == 3


def test_importing_the_same_external_ids_twice_creates_nothing_new(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    text = "accountid,name\nA-1,Fabrikam\nA-2,Contoso\n"
    for _ in range(2):
        answer = upload(client, headers, text)
        assert answer.status_code == 202
        runner.run_next(factory)
    jobs = client.get("/api/v1/imports", headers=headers).json()["items"]
    assert [(job["created"], job["existing"]) for job in jobs] == [(0, 2), (2, 0)]
    assert account_names(client, headers) == ["Contoso", "Fabrikam"]


def test_the_job_runs_as_its_owner_and_others_do_not_see_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    alice = signed_in(client, factory)
    bob = signed_in(client, factory, "bob")
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    job = queued(client, alice)
    runner.run_next(factory)
    path = f"/api/v1/imports/{job['id']}"
    assert client.get(path, headers=bob).status_code == 404
    assert client.get(f"{path}/report", headers=bob).status_code == 404
    assert client.get("/api/v1/imports", headers=bob).json()["items"] == []
    assert client.get(path, headers=admin).json()["owner_id"] == job["owner_id"]
    owners = {
        item["owner_id"] for item in client.get("/api/v1/accounts", headers=admin).json()["items"]
    }
    assert owners == {job["owner_id"]}


def test_saved_mappings_are_their_owners_and_an_administrators(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    alice = signed_in(client, factory)
    bob = signed_in(client, factory, "bob")
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    body = {"name": "Our CRM", "table": "accounts", "columns": {"Company": "name", "Town": "city"}}
    created = client.post("/api/v1/import-mappings", json=body, headers=alice)
    assert created.status_code == 201, created.text
    mapping = created.json()
    path = f"/api/v1/import-mappings/{mapping['id']}"
    assert client.get(path, headers=alice).json()["columns"] == body["columns"]
    assert client.get(path, headers=bob).status_code == 404
    assert client.get("/api/v1/import-mappings", headers=bob).json()["items"] == []
    assert [
        m["name"] for m in client.get("/api/v1/import-mappings", headers=admin).json()["items"]
    ] == ["Our CRM"]
    assert client.delete(path, headers=bob).status_code == 404
    # Another's mapping is no mapping at all for an upload.
    refused = upload(client, bob, "Company\nFabrikam\n", mapping_id=mapping["id"])
    assert refused.status_code == 422
    assert refused.json()["field"] == "mapping_id"

    job = queued(client, alice, text="Company;Town\nFabrikam;Lyon\n", mapping_id=mapping["id"])
    assert job["mapping"] == body["columns"]
    runner.run_next(factory)
    accounts = client.get("/api/v1/accounts", headers=alice).json()["items"]
    assert [(a["name"], a["city"]) for a in accounts] == [("Fabrikam", "Lyon")]

    assert client.delete(path, headers=alice).status_code == 204
    assert client.get(path, headers=alice).status_code == 404


def test_a_mapping_given_as_json_is_used(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    mapping = json.dumps({"Firma": "name", "Ort": "city"})
    job = queued(client, headers, text="Firma,Ort\nFabrikam,Lyon\n", mapping=mapping)
    runner.run_next(factory)
    done = client.get(f"/api/v1/imports/{job['id']}", headers=headers).json()
    assert (done["status"], done["created"]) == ("done", 1)


BAD_UPLOADS: list[tuple[dict[str, str], str, int]] = [
    ({"table": "spaceships"}, ACCOUNTS, 422),
    ({"table": ""}, ACCOUNTS, 422),
    ({"mapping": "{not json"}, ACCOUNTS, 422),
    ({"mapping": "[1, 2]"}, ACCOUNTS, 422),
    ({"mapping": '{"Account Name": "colour"}'}, ACCOUNTS, 422),
    ({"mapping": '{"A": "name", "B": "name"}'}, ACCOUNTS, 422),
    ({"mapping_id": "not-an-id"}, ACCOUNTS, 422),
    ({"mapping_id": "00000000-0000-4000-8000-000000000000"}, ACCOUNTS, 422),
    ({"mapping_id": "00000000-0000-4000-8000-000000000000", "mapping": "{}"}, ACCOUNTS, 422),
    ({"dry_run": "maybe"}, ACCOUNTS, 422),
    ({}, "", 422),
    ({}, "\n\n", 422),
    ({}, '[{"name": "x"}]', 422),
    ({}, "{not json\n", 422),
    ({"colour": "red"}, ACCOUNTS, 422),
]


@pytest.mark.parametrize(("fields", "text", "expected"), BAD_UPLOADS)
def test_bad_uploads_are_refused_as_problems(
    client: TestClient,
    factory: sessionmaker[Session],
    fields: dict[str, str],
    text: str,
    expected: int,
) -> None:
    headers = signed_in(client, factory)
    answer = upload(client, headers, text, **fields)
    assert answer.status_code == expected, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/imports", headers=headers).json()["items"] == []


def test_other_bad_requests_are_4xx(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    assert (
        client.post("/api/v1/imports", json={"table": "accounts"}, headers=headers).status_code
        == 415
    )
    no_file = client.post("/api/v1/imports", files={"table": (None, "accounts")}, headers=headers)
    assert no_file.status_code == 422
    assert upload(client, {}).status_code == 401
    bad = {"name": " ", "table": "accounts", "columns": {"A": "name"}}
    assert client.post("/api/v1/import-mappings", json=bad, headers=headers).status_code == 422
    for columns in ({"A": "colour"}, {}, {"A": "name", "B": "name"}):
        body = {"name": "x", "table": "accounts", "columns": columns}
        answer = client.post("/api/v1/import-mappings", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
    assert client.get("/api/v1/imports/nope", headers=headers).status_code == 422


def test_a_job_whose_owner_was_disabled_fails_saying_why(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    alice_id = create_user(factory, "alice")
    job = queued(client, login(client, "alice"))
    answer = client.patch(f"/api/v1/users/{alice_id}", json={"is_active": False}, headers=admin)
    assert answer.status_code == 200, answer.text
    runner.run_next(factory)
    failed = client.get(f"/api/v1/imports/{job['id']}", headers=admin).json()
    assert failed["status"] == "failed"
    assert "no longer active" in failed["error"]


def test_a_job_left_running_by_a_killed_worker_is_marked_failed(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    job = queued(client, headers)
    claimed = runner.claim(factory)
    assert claimed is not None
    assert str(claimed.id) == job["id"]
    assert runner.claim(factory) is None  # running: nobody claims it twice
    with unit_of_work(factory) as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(ImportJob).values(lease_until=past))
    assert runner.claim(factory) is None
    failed = client.get(f"/api/v1/imports/{job['id']}", headers=headers).json()
    assert (failed["status"], failed["error"]) == ("failed", runner.ABANDONED)


def test_the_worker_streams_the_problems_to_the_report_instead_of_keeping_them(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = signed_in(client, factory)
    job = queued(client, headers)
    results: list[Any] = []

    def chosen(table: str, size: int) -> tuple[Any, int]:
        importer, batch_size = bulk.importer_for(table, size)

        def kept(*args: Any, **kwargs: Any) -> Any:
            results.append(importer(*args, **kwargs))
            return results[-1]

        return kept, batch_size

    monkeypatch.setattr(runner, "importer_for", chosen)
    runner.run_next(factory)
    # Memory stays bounded: the problems went to the report as found, none held in the result.
    assert (results[0].refused, results[0].problems) == (2, [])
    assert len(report_rows(client, headers, job["id"])) == 3


OPPORTUNITIES = (
    "opportunityid,name,estimatedvalue,account name,contact email,stepname,customerneed,"
    "proposedsolution,statecode,actualvalue,actualclosedate\n"
    "O-1,Leasing,48000,Fabrikam,ng@fabrikam.example,Develop,,,,,\n"
    "O-2,Servers,9000,Fabrikam,ng@fabrikam.example,Propose,Servers,,,,\n"
    "O-3,Won deal,1000,Fabrikam,ng@fabrikam.example,Propose,Need,Answer,won,900,2026-03-01\n"
)


@pytest.mark.parametrize("large", [False, True], ids=["row by row", "batch path"])
def test_an_opportunities_job_places_each_at_its_stage_through_the_gates(
    client: TestClient,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    large: bool,
) -> None:
    """A file as large as the CLI would import in batches goes the batch path in a job too,
    with the same outcome; its progress is recorded between two batches."""
    if large:
        monkeypatch.setattr(bulk, "AUTO_BULK_BYTES", 1)
        monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    batches: list[int] = []
    batch_path = bulk.import_opportunities

    def spied(*args: Any, **kwargs: Any) -> Any:
        batches.append(kwargs["batch_size"])
        return batch_path(*args, **kwargs)

    monkeypatch.setattr(bulk, "import_opportunities", spied)
    progress: list[Any] = []
    recorded = runner._set

    def noted(factory: sessionmaker[Session], job_id: Any, **values: Any) -> None:
        if "rows_done" in values:
            progress.append(values["rows_done"])
        recorded(factory, job_id, **values)

    monkeypatch.setattr(runner, "_set", noted)
    headers = signed_in(client, factory)
    account = client.post("/api/v1/accounts", json={"name": "Fabrikam"}, headers=headers).json()
    body = {"last_name": "Ng", "email": "ng@fabrikam.example", "account_id": account["id"]}
    assert client.post("/api/v1/contacts", json=body, headers=headers).status_code == 201
    job = queued(client, headers, text=OPPORTUNITIES, table="opportunities")
    assert job["mapping"]["stepname"] == "stage"
    runner.run_next(factory)
    done = client.get(f"/api/v1/imports/{job['id']}", headers=headers).json()
    assert (done["status"], done["created"], done["refused"]) == ("done", 2, 1)
    assert done["rows_done"] == 3
    assert batches == ([2] if large else [])
    # After the first batch of two rows (committed), then at the end.
    assert progress == ([2, 3] if large else [3])
    rows = report_rows(client, headers, job["id"])
    assert rows[1][:3] == ["2", "stage", "Propose"]
    assert "Develop needs Proposed Solution first" in rows[1][3]
    items = client.get("/api/v1/opportunities", headers=headers).json()["items"]
    placed = {item["name"]: (item["active_stage"], item["state"]) for item in items}
    assert placed == {"Leasing": ("develop", "open"), "Won deal": ("propose", "won")}


def test_history_is_refused_at_upload_for_a_non_administrator(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    text = "opportunity_external_id,stage,changed_at\nO-1,develop,2026-01-02\n"
    answer = upload(client, headers, text, table="history")
    assert answer.status_code == 403, answer.text
    assert "administrators" in answer.json()["detail"]
    assert client.get("/api/v1/imports", headers=headers).json()["items"] == []
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    assert upload(client, admin, text, table="history").status_code == 202
