"""Real Dataverse and OData clients from PyPI, unchanged, against oppflow served by uvicorn
behind a TLS-terminating proxy: Microsoft's PowerPlatform-Dataverse-Client (with a credential object
that hands it an oppflow token) and python-odata (which reflects ``$metadata``). Each client runs
the whole list of the acceptance as far as the library can — create, retrieve with ``$select``,
query with ``$filter``, ``$orderby`` and paging through ``@odata.nextLink``, update, delete,
metadata reflection, WinOpportunity/LoseOpportunity — and every result is checked through
``/api/v1``."""

from __future__ import annotations

import ssl
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
import requests
import trustme
from azure.core.credentials import AccessToken
from odata import ODataService  # type: ignore[import-untyped]
from PowerPlatform.Dataverse.client import DataverseClient
from sqlalchemy import Engine

from oppflow.api.app import create_app
from tests.conftest import with_builtin_data
from tests.dataverse.proxy import tls_proxy, uvicorn_thread
from tests.helpers import PASSWORD, create_user

API = "/api/data/v9.2"


class OppflowToken:
    """An azure-core TokenCredential that answers with an oppflow bearer token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **_options: Any) -> AccessToken:
        return AccessToken(self.token, 4_102_444_800)


class Behind(NamedTuple):
    base: str  # https://localhost:PORT (through the proxy)
    direct: str  # http://127.0.0.1:PORT (oppflow itself, for /api/v1 checks)
    token: str
    ca: Path


@pytest.fixture
def behind_proxy(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Behind]:
    factory = with_builtin_data(engine)
    create_user(factory, "alice", roles=["sales-manager"])
    authority = trustme.CA()
    ca = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    # How a deployment trusts its own authority with requests-based clients.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    with uvicorn_thread(create_app(factory)) as port:
        direct = f"http://127.0.0.1:{port}"
        form = {"username": "alice", "password": PASSWORD}
        token = httpx.post(f"{direct}/api/v1/auth/token", data=form).json()["access_token"]
        with tls_proxy(("127.0.0.1", port), context) as proxy_port:
            yield Behind(f"https://localhost:{proxy_port}", direct, token, ca)


def v1(behind: Behind, path: str, method: str = "GET", **body: Any) -> Any:
    """``/api/v1`` answered directly: the JSON of a 2xx, otherwise the status code."""
    answer = httpx.request(method, f"{behind.direct}/api/v1/{path}", json=body or None,
                           headers={"Authorization": f"Bearer {behind.token}"})  # fmt: skip
    return answer.json() if answer.is_success else answer.status_code


def open_deals_by_value(behind: Behind, ids: list[str], least: float) -> list[str]:
    """The names of these opportunities, open and worth ``least`` or more, by value descending,
    as ``/api/v1`` reads them: what a ``$filter``/``$orderby`` query must answer."""
    records = [v1(behind, f"opportunities/{key}") for key in ids]
    records = [r for r in records if isinstance(r, dict)]
    kept = [r for r in records if r["state"] == "open" and float(r["estimated_value"]) >= least]
    return [r["name"] for r in sorted(kept, key=lambda r: -float(r["estimated_value"]))]


def test_the_microsoft_client_does_the_whole_list_it_can(behind_proxy: Behind) -> None:
    """PowerPlatform-Dataverse-Client: create, retrieve with ``$select``, list with ``$filter``,
    ``$orderby`` and pages, update (an option set by its label, which the client resolves
    through ``EntityDefinitions``), delete, and its metadata calls (``tables.get``,
    ``tables.list``, ``tables.list_columns``, ``tables.get_column``).

    Not WinOpportunity/LoseOpportunity: the library (1.1.0) has no public way to invoke an action
    (its ``records``, ``tables``, ``query``, ``batch`` and ``files`` operations only; the HTTP
    layer, ``_ODataClient._request``, is private). It reads what they leave, though: the
    ``opportunityclose`` of a Win made through ``/api/v1`` is read here through the client."""
    behind = behind_proxy
    with DataverseClient(behind.base, OppflowToken(behind.token)) as client:
        # Metadata reflection, compared with what $metadata declares.
        table = client.tables.get("opportunity")
        assert table is not None
        described = (table["entity_set_name"], table["primary_id_attribute"])
        assert described == ("opportunities", "opportunityid")
        assert table["primary_name_attribute"] == "name"
        listed = client.tables.list(filter="LogicalName eq 'account'",
                                    select=["LogicalName", "EntitySetName"])  # fmt: skip
        assert [(t["LogicalName"], t["EntitySetName"]) for t in listed] == [("account", "accounts")]
        everything = {t["LogicalName"] for t in client.tables.list()}
        assert {"account", "contact", "lead", "opportunity", "systemuser"} <= everything
        columns = client.tables.list_columns("opportunity", select=["LogicalName", "AttributeType"])
        types = {c["LogicalName"]: c["AttributeType"] for c in columns}
        csdl = httpx.get(f"{behind.direct}{API}/$metadata",
                         headers={"Authorization": f"Bearer {behind.token}"})  # fmt: skip
        edm = "{http://docs.oasis-open.org/odata/ns/edm}"
        declared = {
            p.get("Name")
            for t in ET.fromstring(csdl.content).iter(f"{edm}EntityType")
            if t.get("Name") == "opportunity"
            for p in t.findall(f"{edm}Property")
        }
        assert set(types) == declared
        assert (types["estimatedvalue"], types["statecode"]) == ("Money", "Picklist")
        strings = client.tables.list_columns("opportunity", filter="AttributeType eq 'String'")
        assert {"name", "description"} <= {c["LogicalName"] for c in strings}
        assert "estimatedvalue" not in {c["LogicalName"] for c in strings}
        rating = client.tables.get_column("opportunity", "opportunityratingcode")
        assert rating is not None
        assert rating["AttributeType"] == "Picklist"
        assert client.tables.get_column("opportunity", "nosuchcolumn") is None
        assert client.tables.get("nosuchtable") is None

        account = client.records.create("account", {"name": "Fabrikam", "telephone1": "555"})
        assert v1(behind, f"accounts/{account}")["phone"] == "555"
        ids = [
            client.records.create("opportunity", {
                "name": f"Deal {n}", "estimatedvalue": 100 * n,
                "parentaccountid@odata.bind": f"/accounts({account})",
            })
            for n in range(6)
        ]  # fmt: skip
        assert [v1(behind, f"opportunities/{key}")["name"] for key in ids] == [
            f"Deal {n}" for n in range(6)]  # fmt: skip
        assert v1(behind, f"opportunities/{ids[0]}")["account_id"] == account

        one = client.records.retrieve("opportunity", ids[2], select=["name", "estimatedvalue"])
        assert one is not None
        through_v1 = v1(behind, f"opportunities/{ids[2]}")
        assert (one["name"], float(one["estimatedvalue"])) == (
            through_v1["name"], float(through_v1["estimated_value"]))  # fmt: skip
        assert not {"description", "closeprobability"} & set(one.data)

        # The client turns an option's label into its value through EntityDefinitions.
        client.records.update("opportunity", ids[2], {"opportunityratingcode": "Warm"})
        assert v1(behind, f"opportunities/{ids[2]}")["rating"] == "warm"
        client.records.update("opportunity", ids[1], {"description": "Renewal"})
        assert v1(behind, f"opportunities/{ids[1]}")["description"] == "Renewal"
        client.records.delete("opportunity", ids[5])
        assert v1(behind, f"opportunities/{ids[5]}") == 404
        # Closed through /api/v1 (the client cannot run LoseOpportunity): out of the query.
        lost = v1(behind, f"opportunities/{ids[4]}/lose", "POST", status_reason="canceled")
        assert lost["state"] == "lost"

        pages = list(client.records.list_pages(
            "opportunity", select=["name"], filter="estimatedvalue ge 100 and statecode eq 0",
            orderby=["estimatedvalue desc"], page_size=2,
        ))  # fmt: skip
        assert [len(page) for page in pages] == [2, 1]
        names = [r["name"] for page in pages for r in page]
        assert names == open_deals_by_value(behind, ids, 100) == ["Deal 3", "Deal 2", "Deal 1"]

        won = v1(behind, f"opportunities/{ids[3]}/win", "POST", actual_revenue="280")
        assert won["state"] == "won"
        closes = client.records.list("opportunityclose", filter=f"_opportunityid_value eq {ids[3]}",
                                     select=["actualrevenue", "statuscode"])  # fmt: skip
        rows = [close.data for close in closes]
        assert [(float(c["actualrevenue"]), c["statuscode"]) for c in rows] == [(280.0, 3)]
        assert v1(behind, f"opportunities/{ids[3]}/closes")[0]["id"] == rows[0]["activityid"]


def test_python_odata_does_the_whole_list(behind_proxy: Behind) -> None:
    """python-odata, reflecting ``$metadata``: entity classes and the actions, ``save()`` to
    create (``Prefer: return=representation`` gives the key back) and to update, a query with
    ``select``, ``filter``, ``order_by`` and pages followed through ``@odata.nextLink``
    (``Prefer: odata.maxpagesize=2``), ``delete``, and WinOpportunity/LoseOpportunity.

    Not QualifyLead: python-odata binds an action only when its binding parameter is named
    ``bindingParameter``; Dataverse's CSDL (and oppflow's) names it ``entity``, so the library
    reflects QualifyLead as an unbound action it cannot call on a lead."""
    behind = behind_proxy
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {behind.token}"
    session.headers["Prefer"] = "return=representation, odata.maxpagesize=2"
    urls: list[str] = []
    session.hooks["response"].append(lambda answer, *_, **__: urls.append(answer.url))
    service = ODataService(f"{behind.base}{API}/", reflect_entities=True,
                           session=session, quiet_progress=True)  # fmt: skip
    assert {"accounts", "opportunities", "opportunitycloses", "systemusers"} <= set(
        service.entities
    )
    assert {"WinOpportunity", "LoseOpportunity"} <= set(service.actions)
    assert set(service.actions["WinOpportunity"].parameters) == {"OpportunityClose", "Status"}
    Opportunity = service.entities["opportunities"]  # noqa: N806 - a class the client reflected

    made = []
    for number, value in enumerate((5000, 700, 3000, 1200, 50)):
        deal = Opportunity()
        deal.name, deal.estimatedvalue, deal.closeprobability = f"Deal {number}", value, 10
        service.save(deal)
        assert deal.opportunityid, "the 201's representation gives the key back"
        made.append(deal.opportunityid)
    ids = [str(key) for key in made]
    assert [v1(behind, f"opportunities/{key}")["estimated_value"] for key in ids] == [
        5000, 700, 3000, 1200, 50]  # fmt: skip

    picked = (
        service.query(Opportunity)
        .select(Opportunity.name, Opportunity.estimatedvalue)
        .filter(Opportunity.opportunityid == ids[2])
        .first()
    )
    assert set(picked) >= {"name", "estimatedvalue"}
    assert "closeprobability" not in picked
    assert (picked["name"], float(picked["estimatedvalue"])) == ("Deal 2", 3000)
    assert v1(behind, f"opportunities/{ids[2]}")["name"] == picked["name"]

    deal = service.query(Opportunity).filter(Opportunity.name == "Deal 1").one()
    deal.estimatedvalue, deal.description = 2500, "Upsized"
    service.save(deal)
    changed = v1(behind, f"opportunities/{ids[1]}")
    assert (changed["estimated_value"], changed["description"]) == (2500, "Upsized")

    service.delete(service.query(Opportunity).filter(Opportunity.name == "Deal 4").one())
    assert v1(behind, f"opportunities/{ids[4]}") == 404

    del urls[:]
    found = (
        service.query(Opportunity)
        .filter(Opportunity.estimatedvalue >= 1000)
        .filter(Opportunity.statecode == 0)
        .order_by(Opportunity.estimatedvalue.desc())
        .all()
    )
    assert [o.name for o in found] == open_deals_by_value(behind, ids, 1000)
    assert [o.name for o in found] == ["Deal 0", "Deal 2", "Deal 1", "Deal 3"]
    assert len(urls) == 2, urls  # two pages of two, the second through the nextLink
    assert urls[1].startswith(f"{behind.base}{API}/opportunities?")
    assert "skiptoken" in urls[1]

    close = {"opportunityid@odata.bind": f"/opportunities({ids[0]})",
             "actualrevenue": 4500, "description": "Signed"}  # fmt: skip
    service.actions["WinOpportunity"](OpportunityClose=close, Status=3)
    closed = v1(behind, f"opportunities/{ids[0]}")
    assert (closed["state"], closed["actual_value"]) == ("won", 4500)
    Close = service.entities["opportunitycloses"]  # noqa: N806 - a class the client reflected
    (record,) = service.query(Close).filter(Close._opportunityid_value == ids[0]).all()
    assert (float(record.actualrevenue), record.description) == (4500, "Signed")

    lose = {"opportunityid@odata.bind": f"/opportunities({ids[3]})", "description": "Too dear"}
    service.actions["LoseOpportunity"](OpportunityClose=lose, Status=5)
    lost = v1(behind, f"opportunities/{ids[3]}")
    assert (lost["state"], lost["status_reason"]) == ("lost", "out_sold")


def test_the_readme_example_runs(behind_proxy: Behind, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    section = readme.split("## Coming from Dynamics 365", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("https://oppflow.example.com", behind_proxy.base)
    exec(compile(code.replace("<token>", behind_proxy.token), "README.md", "exec"), {})
    assert "('50 laptops', '1-Qualify')" in capsys.readouterr().out
