"""The Dataverse Web API over HTTP: entity sets, records, query options, ETags and errors,
each result checked through /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create, create_user, signed_in

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


def test_if_none_match_answers_304_while_the_etag_is_current(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    account = create(client, headers, "accounts", name="Cached")
    url = f"{API}/accounts({account['id']})"
    first = client.get(url, headers=headers)
    etag = first.headers["ETag"]
    assert etag == first.json()["@odata.etag"] == 'W/"1"'
    unchanged = client.get(url, headers={**headers, "If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == etag
    assert client.get(url, headers={**headers, "If-None-Match": "*"}).status_code == 304
    assert client.patch(url, json={"name": "Changed"}, headers=headers).status_code == 204
    fresh = client.get(url, headers={**headers, "If-None-Match": etag})
    assert fresh.status_code == 200
    assert (fresh.json()["name"], fresh.headers["ETag"]) == ("Changed", 'W/"2"')
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=headers).json()["version"] == 2


def test_patch_of_a_missing_record_never_creates(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """``If-Match: *`` (update only) and ``If-Match: W/"1"`` on a missing record are 404s;
    ``If-None-Match: *`` (create only) is refused with 412, since PATCH never creates."""
    headers = signed_in(client, factory)
    url = f"{API}/accounts({GHOST})"
    for precondition, status in (
        ({"If-Match": "*"}, 404),
        ({"If-Match": 'W/"1"'}, 404),
        ({"If-None-Match": "*"}, 412),
        ({}, 404),
    ):
        answer = client.patch(url, json={"name": "Ghost"}, headers={**headers, **precondition})
        assert answer.status_code == status, (precondition, answer.text)
        assert set(answer.json()["error"]) >= {"code", "message"}
    assert client.get("/api/v1/accounts", headers=headers).json()["items"] == []
    assert client.get(f"{API}/accounts({GHOST})", headers=headers).status_code == 404


def test_forwarded_proto_https_makes_https_links(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """RFC 7239 ``Forwarded`` (without ``X-Forwarded-Proto``) sets the scheme of every link."""
    headers = signed_in(client, factory)
    made = [create(client, headers, "accounts", name=f"Forwarded {n}")["id"] for n in range(3)]
    proxied = {**headers, "Host": "crm.example.org",
               "Prefer": 'odata.include-annotations="*", odata.maxpagesize=2',
               "Forwarded": 'for=192.0.2.60;proto=https;by="203.0.113.43"'}  # fmt: skip
    page = client.get(f"{API}/accounts?$select=name&$orderby=name", headers=proxied)
    assert page.headers["Preference-Applied"] == "odata.maxpagesize=2"
    body = page.json()
    assert body["@odata.context"] == f"https://crm.example.org{API}/$metadata#accounts(name)"
    link = body["@odata.nextLink"]
    assert link.startswith(f"https://crm.example.org{API}/accounts?")
    rest = client.get(link.removeprefix("https://crm.example.org"), headers=proxied).json()
    names = [row["name"] for row in body["value"] + rest["value"]]
    assert names == [f"Forwarded {n}" for n in range(3)]
    written = client.post(f"{API}/contacts", json={"lastname": "Fwd"}, headers=proxied)
    assert written.headers["OData-EntityId"].startswith(f"https://crm.example.org{API}/contacts(")
    plain = client.get(f"{API}/accounts?$select=name", headers={**headers, "Forwarded": "for=x"})
    assert plain.json()["@odata.context"].startswith("http://testserver/")
    assert sorted(made) == sorted(
        a["id"] for a in client.get("/api/v1/accounts", headers=headers).json()["items"]
    )


def test_a_positive_top_limits_the_rows_across_pages(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    for number in range(7):
        create(client, headers, "accounts", name=f"Top {number}")
    three = client.get(f"{API}/accounts?$top=3&$orderby=name desc&$count=true", headers=headers)
    assert [row["name"] for row in three.json()["value"]] == ["Top 6", "Top 5", "Top 4"]
    assert three.json()["@odata.count"] == 7
    assert "@odata.nextLink" not in three.json()
    url: str | None = f"{API}/accounts?$top=5&$orderby=name&$select=name"
    pages: list[list[str]] = []
    while url:
        page = client.get(url, headers={**headers, "Prefer": "odata.maxpagesize=2"}).json()
        pages.append([row["name"] for row in page["value"]])
        url = page.get("@odata.nextLink")
    assert pages == [["Top 0", "Top 1"], ["Top 2", "Top 3"], ["Top 4"]]
    listed = client.get("/api/v1/accounts", headers=headers).json()["items"]
    assert sorted(a["name"] for a in listed)[:5] == [name for page in pages for name in page]


def test_owner_bind_gives_the_record_to_that_user(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    bob = create_user(factory, "bob")
    body = {"name": "Bob's deal", "ownerid@odata.bind": f"/systemusers({bob})"}
    made = client.post(f"{API}/opportunities", json=body,
                       headers={**headers, "Prefer": "return=representation"})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["_ownerid_value"] == bob
    key = made.json()["opportunityid"]
    assert client.get(f"/api/v1/opportunities/{key}", headers=headers).json()["owner_id"] == bob
    wrong = {"name": "Nobody's", "ownerid@odata.bind": f"/accounts({GHOST})"}
    assert client.post(f"{API}/opportunities", json=wrong, headers=headers).status_code == 400
    ghost = {"name": "Nobody's", "ownerid@odata.bind": f"/systemusers({GHOST})"}
    refused = client.post(f"{API}/opportunities", json=ghost, headers=headers)
    assert refused.status_code == 400, refused.text
    assert "_ownerid_value" in refused.json()["error"]["message"]
    names = [
        o["name"] for o in client.get("/api/v1/opportunities", headers=headers).json()["items"]
    ]
    assert names == ["Bob's deal"]


def test_the_close_of_a_win_reads_as_an_opportunityclose(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    rival = create(client, headers, "competitors", name="Rival")
    won = create(client, headers, "opportunities", name="Won deal")
    lost = create(client, headers, "opportunities", name="Lost deal")
    win = {"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({won['id']})",
                                "actualrevenue": 900, "actualend": "2026-12-01",
                                "description": "Signed"}, "Status": 3}  # fmt: skip
    assert client.post(f"{API}/WinOpportunity", json=win, headers=headers).status_code == 204
    lose = {"OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({lost['id']})",
                                 "competitorid@odata.bind": f"/competitors({rival['id']})"},
            "Status": 5}  # fmt: skip
    assert client.post(f"{API}/LoseOpportunity", json=lose, headers=headers).status_code == 204

    query = {"$filter": f"_opportunityid_value eq {won['id']}"}
    (close,) = client.get(f"{API}/opportunitycloses", params=query, headers=headers).json()["value"]
    (through_v1,) = client.get(f"/api/v1/opportunities/{won['id']}/closes", headers=headers).json()
    assert close["activityid"] == through_v1["id"]
    assert (close["statecode"], close["statuscode"]) == (1, 3)
    assert (close["actualrevenue"], close["actualend"], close["description"]) == (
        900, "2026-12-01", "Signed")  # fmt: skip
    one = client.get(f"{API}/opportunitycloses({close['activityid']})", headers=headers).json()
    assert one["_opportunityid_value"] == won["id"]
    query = {"$filter": f"_competitorid_value eq {rival['id']}", "$select": "statuscode"}
    rows = client.get(f"{API}/opportunitycloses", params=query, headers=headers).json()["value"]
    assert [row["statuscode"] for row in rows] == [5]
    states = client.get(f"{API}/opportunities?$select=name,statecode&$orderby=name",
                        headers=headers).json()["value"]  # fmt: skip
    assert [(r["name"], r["statecode"]) for r in states] == [("Lost deal", 2), ("Won deal", 1)]
    assert client.post(f"{API}/opportunitycloses", json={}, headers=headers).status_code == 403


def test_systemusers_and_competitors_list_as_in_v1(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    create_user(factory, "bob")
    for name in ("Northwind", "Adatum"):
        create(client, headers, "competitors", name=name, strengths="Price")
    users = client.get(f"{API}/systemusers?$select=fullname,domainname&$orderby=domainname",
                       headers=headers).json()["value"]  # fmt: skip
    v1_users = client.get("/api/v1/users", headers=headers).json()["items"]
    assert [(u["domainname"], u["fullname"]) for u in users] == sorted(
        (u["username"], u["full_name"]) for u in v1_users)  # fmt: skip
    assert [u["domainname"] for u in users] == ["alice", "bob"]
    rivals = client.get(f"{API}/competitors?$orderby=name", headers=headers).json()["value"]
    v1_rivals = client.get("/api/v1/competitors", headers=headers).json()["items"]
    assert [(r["competitorid"], r["name"], r["strengths"]) for r in rivals] == sorted(
        ((r["id"], r["name"], r["strengths"]) for r in v1_rivals), key=lambda r: r[1])  # fmt: skip
    assert [r["name"] for r in rivals] == ["Adatum", "Northwind"]
    refused = client.patch(f"{API}/systemusers({users[0]['systemuserid']})",
                           json={"fullname": "X"}, headers=headers)  # fmt: skip
    assert refused.status_code == 403
