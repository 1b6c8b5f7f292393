"""Real Dataverse and OData clients from PyPI, unchanged, against oppflow served by uvicorn
behind a TLS-terminating proxy: Microsoft's PowerPlatform-Dataverse-Client (with a credential object
that hands it an oppflow token) and python-odata (which reflects ``$metadata``). Every result
is checked through ``/api/v1``."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
import requests
import trustme
from azure.core.credentials import AccessToken
from odata import ODataService
from PowerPlatform.Dataverse.client import DataverseClient
from sqlalchemy import Engine

from oppflow.api.app import create_app
from tests.conftest import with_builtin_data
from tests.dataverse.proxy import tls_proxy, uvicorn_thread
from tests.helpers import PASSWORD, create_user


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


def v1(behind: Behind, path: str) -> Any:
    answer = httpx.get(f"{behind.direct}/api/v1/{path}",
                       headers={"Authorization": f"Bearer {behind.token}"})  # fmt: skip
    return answer.json() if answer.status_code == 200 else answer.status_code


def test_the_microsoft_client_creates_queries_pages_updates_closes_and_deletes(
    behind_proxy: Behind,
) -> None:
    behind = behind_proxy
    with DataverseClient(behind.base, OppflowToken(behind.token)) as client:
        account = client.records.create("account", {"name": "Fabrikam", "telephone1": "555"})
        assert v1(behind, f"accounts/{account}")["phone"] == "555"
        ids = [
            client.records.create("opportunity", {
                "name": f"Deal {n}", "estimatedvalue": 100 * n,
                "parentaccountid@odata.bind": f"/accounts({account})",
            })
            for n in range(5)
        ]  # fmt: skip
        assert v1(behind, f"opportunities/{ids[0]}")["account_id"] == account

        one = client.records.get("opportunity", ids[2], select=["name", "estimatedvalue"])
        assert one["name"] == "Deal 2"
        # The client turns an option's label into its value through EntityDefinitions.
        client.records.update("opportunity", ids[2], {"opportunityratingcode": "Warm"})
        assert v1(behind, f"opportunities/{ids[2]}")["rating"] == "warm"
        pages = list(client.records.get(
            "opportunity", select=["name"], filter="estimatedvalue ge 100 and statecode eq 0",
            orderby=["estimatedvalue desc"], page_size=2,
        ))  # fmt: skip
        assert [len(page) for page in pages] == [2, 2]
        assert [r["name"] for page in pages for r in page] == [f"Deal {n}" for n in (4, 3, 2, 1)]

        client.records.update("opportunity", ids[1], {"description": "Renewal"})
        assert v1(behind, f"opportunities/{ids[1]}")["description"] == "Renewal"

        client.records.delete("opportunity", ids[4])
        assert v1(behind, f"opportunities/{ids[4]}") == 404


def test_python_odata_reflects_the_metadata_and_runs_the_actions(behind_proxy: Behind) -> None:
    behind = behind_proxy
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {behind.token}"
    service = ODataService(f"{behind.base}/api/data/v9.2/", reflect_entities=True,
                           session=session, quiet_progress=True)  # fmt: skip
    Opportunity = service.entities["opportunities"]  # noqa: N806 - a class the client reflected
    assert "WinOpportunity" in service.actions
    won, lost = Opportunity(), Opportunity()
    won.name, lost.name = "To win", "To lose"
    won.estimatedvalue = 5000
    service.save(won)
    service.save(lost)
    found = service.query(Opportunity).filter(Opportunity.name == "To win").first()
    assert found.estimatedvalue == 5000

    close = {"opportunityid@odata.bind": f"/opportunities({found.opportunityid})",
             "actualrevenue": 4500, "description": "Signed"}  # fmt: skip
    service.actions["WinOpportunity"](OpportunityClose=close, Status=3)
    closed = v1(behind, f"opportunities/{found.opportunityid}")
    assert (closed["state"], closed["actual_value"]) == ("won", 4500)

    key = service.query(Opportunity).filter(Opportunity.name == "To lose").first().opportunityid
    lose = {"opportunityid@odata.bind": f"/opportunities({key})", "description": "Too dear"}
    service.actions["LoseOpportunity"](OpportunityClose=lose, Status=5)
    assert v1(behind, f"opportunities/{key}")["status_reason"] == "out_sold"


def test_the_readme_example_runs(behind_proxy: Behind, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    section = readme.split("## Coming from Dynamics 365", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("https://oppflow.example.com", behind_proxy.base)
    exec(compile(code.replace("<token>", behind_proxy.token), "README.md", "exec"), {})
    assert "('50 laptops', '1-Qualify')" in capsys.readouterr().out
