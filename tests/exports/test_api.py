"""``GET /api/v1/exports/{table}``: CSV and JSON lines, API and Dataverse names, the filters, and
bad requests answered 4xx as problems, never 500."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.exports import Table
from oppflow.exports.tables import TABLES
from oppflow.imports.mapping import auto_mapping
from tests.helpers import create, create_lead, create_opportunity, signed_in

FORMULA = "=cmd|' /C calc'!A0"


def export(client: TestClient, headers: dict[str, str], table: str, **params: Any) -> Any:
    answer = client.get(f"/api/v1/exports/{table}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def jsonl_rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def admin(client: TestClient, factory: sessionmaker[Session]) -> dict[str, str]:
    return signed_in(client, factory, "admin", roles=["system-administrator"])


def test_the_documented_tables_are_the_exported_ones() -> None:
    assert set(get_args(Table)) == set(TABLES)


def test_a_formula_cell_comes_out_as_text_in_csv_and_as_given_in_json_lines(
    client: TestClient, admin: dict[str, str]
) -> None:
    create(client, admin, "accounts", name=FORMULA, city="+33 Paris")
    answer = export(client, admin, "accounts")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="accounts.csv"'
    [row] = csv_rows(answer.text)
    assert row["name"] == "'" + FORMULA
    assert row["city"] == "'+33 Paris"
    lines = export(client, admin, "accounts", format="jsonl")
    assert lines.headers["content-type"] == "application/x-ndjson"
    [record] = jsonl_rows(lines.text)
    assert record["name"] == FORMULA


def test_json_lines_carry_the_apis_fields_and_values(
    client: TestClient, admin: dict[str, str]
) -> None:
    opportunity = create_opportunity(client, admin, estimated_value=48000, probability=40)
    [record] = jsonl_rows(export(client, admin, "opportunities", format="jsonl").text)
    read = client.get(f"/api/v1/opportunities/{opportunity['id']}", headers=admin).json()
    # Then what another database needs to import it back: its external id, its owner's name.
    assert record == {**read, "external_id": None, "owner": "admin"}


def test_csv_headers_map_back_to_the_importers_fields(
    client: TestClient, admin: dict[str, str]
) -> None:
    # The round trip (import → export → import): our headers are the importer's fields, the
    # id becomes the external id, and a contact's account_id its account's.
    account = create(client, admin, "accounts", name="Contoso", city="Lyon")
    create(client, admin, "contacts", last_name="Doe", account_id=account["id"])
    create_opportunity(client, admin, account_id=account["id"], estimated_value=1000)
    expected = {
        "accounts": {"id": "external_id", "name": "name", "city": "city"},
        "contacts": {"id": "external_id", "last_name": "last_name"},
        "opportunities": {
            "id": "external_id",
            "name": "name",
            "estimated_value": "estimated_value",
        },
    }
    expected["contacts"]["account_id"] = "account_external_id"
    expected["opportunities"]["account_id"] = "account_external_id"
    expected["opportunities"]["contact_id"] = "contact_external_id"
    expected["opportunities"]["active_stage"] = "stage"
    for fields in expected.values():
        fields["owner"] = "owner"  # a user name; owner_id differs between databases
    for table, fields in expected.items():
        headers = next(csv.reader(io.StringIO(export(client, admin, table).text)))
        assert fields.items() <= auto_mapping(table, headers, may_backdate=True).items(), table


def test_dataverse_names_and_option_codes(client: TestClient, admin: dict[str, str]) -> None:
    create_opportunity(client, admin, name="Dock", estimated_value=1200, rating="hot")
    [row] = csv_rows(export(client, admin, "opportunities", names="dataverse").text)
    assert row["name"] == "Dock"
    assert row["estimatedvalue"] == "1200.0000"
    assert row["statecode"] == "0"  # open
    assert row["opportunityratingcode"] == "1"  # hot
    assert "opportunityid" in row
    assert "_ownerid_value" in row
    [record] = jsonl_rows(
        export(client, admin, "opportunities", names="dataverse", format="jsonl").text
    )
    assert record["statecode"] == 0
    assert record["estimatedvalue"] == 1200.0


def test_filters_state_owner_modified_since_and_field_equality(
    client: TestClient, factory: sessionmaker[Session], admin: dict[str, str]
) -> None:
    mine = create_lead(client, admin, topic="Mine", source="web")
    other = signed_in(client, factory, "bob", roles=["system-administrator"])
    theirs = create_lead(client, other, topic="Theirs", source="web")
    disqualify = {"status_reason": "no_longer_interested"}
    path = f"/api/v1/leads/{theirs['id']}/disqualify"
    assert client.post(path, json=disqualify, headers=other).status_code == 200

    def topics(**params: Any) -> list[str]:
        return [r["topic"] for r in csv_rows(export(client, admin, "leads", **params).text)]

    assert sorted(topics()) == ["Mine", "Theirs"]
    assert topics(state="open") == ["Mine"]
    assert topics(owner_id=mine["owner_id"]) == ["Mine"]
    assert topics(filter=["topic=Theirs", "source=web"]) == ["Theirs"]
    assert topics(filter=[f"id={mine['id']}"]) == ["Mine"]
    assert topics(filter="decision_maker_identified=false", state="disqualified") == ["Theirs"]
    assert topics(modified_since=theirs["modified_at"]) == ["Theirs"]
    assert topics(modified_since="2999-01-01T00:00:00") == []


def test_every_table_exports_under_api_names(client: TestClient, admin: dict[str, str]) -> None:
    opportunity = create_opportunity(client, admin)
    create(client, admin, "competitors", name="Fabrikam")
    path = f"/api/v1/opportunities/{opportunity['id']}/process/next"
    client.post(path, headers=admin)
    for table in TABLES:
        answer = export(client, admin, table)
        header = next(csv.reader(io.StringIO(answer.text)))
        assert header == [column.name for column in TABLES[table].columns], table
    history = csv_rows(export(client, admin, "stage-history").text)
    assert [row["opportunity_id"] for row in history] == [opportunity["id"]]


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"filter": "nothing=1"}, "filter"),
        ({"filter": "no equals sign"}, "filter"),
        ({"filter": "probability=many"}, "filter"),
        ({"filter": "probability=99999999999999"}, "filter"),
        ({"filter": "estimated_value=NaN"}, "filter"),
        ({"filter": "id=not-a-uuid"}, "filter"),
        ({"filter": "estimated_close_date=2026-02-30"}, "filter"),
        ({"filter": "created_at=0001-01-01T00:00:00+01:00"}, "filter"),
        ({"filter": "active_stage=x\u0000"}, "filter"),
        ({"format": "xlsx"}, "format"),
        ({"names": "salesforce"}, "names"),
        ({"owner_id": "me"}, "owner_id"),
        ({"modified_since": "yesterday"}, "modified_since"),
    ],
)
def test_bad_requests_are_422_problems(
    client: TestClient, admin: dict[str, str], params: dict[str, str], where: str
) -> None:
    answer = client.get("/api/v1/exports/opportunities", params=params, headers=admin)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert where in {str(part) for error in answer.json()["errors"] for part in error["loc"]}


def test_refusals_that_depend_on_the_table(client: TestClient, admin: dict[str, str]) -> None:
    for table, params in (
        ("competitors", {"state": "open"}),
        ("users", {"owner_id": "2f1c9a8e-8a6e-4a43-9d53-4f6d3c2b1a00"}),
        ("quotes", {"names": "dataverse"}),
        ("users", {"filter": "roles=salesperson"}),
        ("quotes", {"filter": "quote_number=QUO-000001"}),
    ):
        answer = client.get(f"/api/v1/exports/{table}", params=params, headers=admin)
        assert answer.status_code == 422, (table, answer.text)
    unknown = client.get("/api/v1/exports/audit", headers=admin)
    assert unknown.status_code == 422
    assert client.get("/api/v1/exports/accounts").status_code == 401


def test_a_table_the_role_does_not_read_is_403(
    client: TestClient, factory: sessionmaker[Session], admin: dict[str, str]
) -> None:
    # A custom role reading accounts only.
    body = {"key": "accounts-only", "name": "Accounts only"}
    body["privileges"] = {"account": {"read": "organization"}}  # type: ignore[assignment]
    role = client.post("/api/v1/roles", json=body, headers=admin)
    assert role.status_code == 201, role.text
    reader = signed_in(client, factory, "reader", roles=["accounts-only"])
    assert client.get("/api/v1/exports/accounts", headers=reader).status_code == 200
    answer = client.get("/api/v1/exports/users", headers=reader)
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
