"""The audit log page over HTTP on SQLite and PostgreSQL: changes in words in the reader's
language, links without names, only for readers of the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient

from oppflow.db import unit_of_work
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import OpportunityUpdate
from oppflow.security import service as security_service
from tests.web.support import Factory, make_customer, make_opportunity, make_user, web_login


def test_the_log_in_words_for_an_administrator(client: TestClient, factory: Factory) -> None:
    make_user(factory, "root", roles=["system-administrator"])
    account, _ = make_customer(factory, "root", "Contoso", "Jane Doe")
    deal = make_opportunity(factory, "root", name="Audited deal")
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "root")
        data = OpportunityUpdate.model_validate({"rating": "hot", "account_id": str(account)})
        sales_service.update_opportunity(session, actor=actor, opportunity_id=deal, data=data)
    web_login(client, "root")
    page = client.get("/admin/audit").text
    assert f'<a href="/opportunities/{deal}">Opportunity</a>' in page
    assert '<th scope="row">Rating</th>' in page
    assert "Hot" in page
    assert f'<a href="/accounts/{account}">Contoso</a>' in page
    client.cookies.set("oppflow_lang", "fr")
    french = client.get("/admin/audit").text
    assert "Journal d’audit" in french
    assert '<th scope="row">Évaluation</th>' in french
    assert "Chaude" in french
    assert client.get("/admin/audit?before=nope").status_code in (400, 422)


def test_a_salesperson_may_not_read_the_log(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    web_login(client, "alice")
    assert client.get("/admin/audit").status_code == 403
