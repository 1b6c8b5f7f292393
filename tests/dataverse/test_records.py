"""The Dataverse Web API over HTTP: entity sets, records, query options, ETags and errors,
each result checked through /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create, signed_in

API = "/api/data/v9.2"
GHOST = "00000000-0000-4000-8000-000000000001"


def odata_headers(headers: dict[str, str]) -> dict[str, str]:
    """What Dataverse clients send: the unknown ones must be ignored."""
    return {
        **headers,
        "OData-Version": "4.0",
        "OData-MaxVersion": "4.0",
        "x-ms-client-request-id": "e2c1c6a8-1111-4a4a-9999-000000000000",
        "Accept": "application/json",
    }


def test_create_read_update_delete_an_account(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = odata_headers(signed_in(client, factory))
    made = client.post(f"{API}/accounts", json={"name": "Fabrikam", "telephone1": "555"},
                       headers={**headers, "Prefer": "return=representation"})  # fmt: skip
    assert made.status_code == 201, made.text
    account = made.json()
    key = account["accountid"]
    assert account["name"] == "Fabrikam"
    assert account["@odata.etag"] == 'W/"1"'
    assert made.headers["OData-EntityId"] == f"http://testserver{API}/accounts({key})"
    assert client.get(f"/api/v1/accounts/{key}", headers=headers).json()["phone"] == "555"

    one = client.get(f"{API}/accounts({key})?$select=name", headers=headers).json()
    assert one["@odata.context"] == f"http://testserver{API}/$metadata#accounts/$entity"
    assert set(one) == {"@odata.context", "@odata.etag", "name", "accountid"}

    stale = client.patch(f"{API}/accounts({key})", json={"name": "Late"},
                         headers={**headers, "If-Match": 'W/"7"'})  # fmt: skip
    assert stale.status_code == 412
    assert set(stale.json()["error"]) >= {"code", "message"}
    changed = client.patch(f"{API}/accounts({key})", json={"name": "Fabrikam Inc"},
                           headers={**headers, "If-Match": 'W/"1"'})  # fmt: skip
    assert changed.status_code == 204, changed.text
    assert client.get(f"/api/v1/accounts/{key}", headers=headers).json()["name"] == "Fabrikam Inc"

    assert client.delete(f"{API}/accounts({key})", headers=headers).status_code == 204
    assert client.get(f"/api/v1/accounts/{key}", headers=headers).status_code == 404


def test_create_without_representation_answers_204_with_the_entity_id(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    made = client.post(f"{API}/contacts", json={"lastname": "Ho"}, headers=headers)
    assert made.status_code == 204
    key = made.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    assert client.get(f"/api/v1/contacts/{key}", headers=headers).json()["last_name"] == "Ho"


def test_if_match_star_never_creates(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    missing = "00000000-0000-4000-8000-000000000001"
    answer = client.patch(f"{API}/accounts({missing})", json={"name": "Ghost"},
                          headers={**headers, "If-Match": "*"})  # fmt: skip
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "0x80040217"
    assert client.get("/api/v1/accounts", headers=headers).json()["items"] == []


def test_bind_a_lookup_and_expand_it(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    account = create(client, headers, "accounts", name="Contoso")
    body = {
        "name": "Contoso deal",
        "estimatedvalue": 1200.5,
        "opportunityratingcode": 1,
        "parentaccountid@odata.bind": f"/accounts({account['id']})",
    }
    made = client.post(f"{API}/opportunities", json=body,
                       headers={**headers, "Prefer": "return=representation"})  # fmt: skip
    assert made.status_code == 201, made.text
    record = made.json()
    assert record["_parentaccountid_value"] == account["id"]
    assert record["statecode"] == 0
    assert record["statuscode"] == 1
    assert record["stepname"] == "1-Qualify"
    through_v1 = client.get(f"/api/v1/opportunities/{record['opportunityid']}", headers=headers)
    assert through_v1.json()["rating"] == "hot"
    assert through_v1.json()["account_id"] == account["id"]
    expanded = client.get(
        f"{API}/opportunities({record['opportunityid']})",
        params={"$select": "name", "$expand": "parentaccountid($select=name)"},
        headers=headers,
    ).json()
    assert expanded["parentaccountid"]["name"] == "Contoso"


def test_paging_follows_absolute_next_links_behind_a_proxy(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    for number in range(7):
        create(client, headers, "accounts", name=f"Account {number}")
    proxied = {**headers, "Prefer": "odata.maxpagesize=3,odata.include-annotations=\"*\"",
               "X-Forwarded-Proto": "https", "Host": "crm.example.org"}  # fmt: skip
    url: str | None = f"{API}/accounts?$select=name&$orderby=name desc&$count=true"
    names: list[str] = []
    pages = 0
    while url:
        answer = client.get(url, headers=proxied)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        assert page["@odata.count"] == 7
        names += [row["name"] for row in page["value"]]
        url = page.get("@odata.nextLink")
        if url:
            assert url.startswith(f"https://crm.example.org{API}/accounts?")
            url = url.removeprefix("https://crm.example.org")
        pages += 1
    assert pages == 3
    assert names == [f"Account {n}" for n in reversed(range(7))]


def test_errors_have_the_odata_shape(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    for path in (
        "/accounts?$filter=name eq",
        "/accounts?$filter=nosuchcolumn eq 1",
        "/accounts?$select=password_hash",
        "/accounts?$orderby=name sideways",
        "/accounts?$top=-1",
        "/accounts(not-a-guid)",
        "/nosuchset",
        "/accounts?$apply=groupby((name))",
    ):
        answer = client.get(f"{API}{path}", headers=headers)
        assert answer.status_code in (400, 404), (path, answer.text)
        assert set(answer.json()["error"]) >= {"code", "message"}, path
    malformed = client.post(f"{API}/accounts", content=b"{nope",
                            headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    assert malformed.status_code == 400
    assert "error" in malformed.json()


def test_every_path_needs_a_token(client: TestClient) -> None:
    for path in ("/", "/$metadata", "/accounts", "/EntityDefinitions"):
        answer = client.get(f"{API}{path}")
        assert answer.status_code == 401, path
        assert answer.json()["error"]["message"]


def test_refused_values_name_the_logical_column(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    for body, column in (
        ({"name": "x", "closeprobability": 140}, "closeprobability"),
        ({"name": "x", "opportunityratingcode": 9}, "opportunityratingcode"),
        ({"name": "x", "statecode": 1}, "statecode"),
        ({"name": "x", "parentaccountid@odata.bind": f"/contacts({GHOST})"}, "parentaccountid"),
        ({"name": "x", "_parentaccountid_value": GHOST}, "_parentaccountid_value"),
    ):  # fmt: skip
        answer = client.post(f"{API}/opportunities", json=body, headers=headers)
        assert answer.status_code == 400, (body, answer.text)
        assert column in answer.json()["error"]["message"], answer.text
    assert client.get("/api/v1/opportunities", headers=headers).json()["items"] == []


def test_odd_requests_are_4xx_never_500(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    long_chain = " or ".join(["closeprobability eq 1"] * 180)
    for path in (
        f"/opportunities?$filter={long_chain}",
        "/systemusers?$expand=businessunitid",
        "/opportunitysalesprocesses?$expand=activestageid",
        "/opportunitysalesprocesses?$filter=traversedpath eq 'x'",
        "/opportunities?$top=0&$count=true",
        "/opportunities?$skiptoken=999999999",
        "/EntityDefinitions?$filter=contains(LogicalName,'a')",
        "/EntityDefinitions?$select=Nothing",
        "/EntityDefinitions(LogicalName='account')/Keys",
    ):
        answer = client.get(f"{API}{path}", headers=headers)
        assert answer.status_code < 500, (path, answer.text)
        assert answer.status_code in (200, 400, 404), (path, answer.text)
    dashes = "-" * 36
    for url, body in (
        ("/opportunities", [1, 2]),
        ("/opportunities", {"name": "x", "parentaccountid@odata.bind": f"/accounts({dashes})"}),
        ("/WinOpportunity", {"OpportunityClose": {"opportunityid@odata.bind": 3}, "Status": 3}),
        ("/WinOpportunity", {"OpportunityClose": {}, "Status": "3"}),
        ("/LoseOpportunity", {"Status": 5}),
    ):
        answer = client.post(f"{API}{url}", json=body, headers=headers)
        assert answer.status_code == 400, (url, answer.text)
        assert answer.json()["error"]["message"]
    typed = client.post(f"{API}/accounts", content=b"name=x",
                        headers={**headers, "Content-Type": "text/plain"})  # fmt: skip
    assert typed.status_code == 415
    assert client.get("/api/v1/opportunities", headers=headers).json()["items"] == []
