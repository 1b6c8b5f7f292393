"""A request that cannot get a lock in time (OPPFLOW_LOCK_TIMEOUT_SECONDS) answers 409, a
conflict to retry, on both databases, through the API, the Dataverse face and the web pages: on
PostgreSQL a lock timeout used to be a 500 and a logged error, as its message does not say
"locked"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import make_engine, unit_of_work
from oppflow.models import Opportunity
from tests.client import AppClient, app_on
from tests.helpers import create, signed_in
from tests.web.support import make_opportunity, make_user, web_login

API = "/api/data/v9.2"


@pytest.fixture
def impatient(engine: Engine) -> Iterator[AppClient]:
    """The application on the test database through an engine that waits 0.2 s for a lock."""
    quick = make_engine(engine.url.render_as_string(hide_password=False), lock_timeout=0.2)
    with app_on(sessionmaker(bind=quick, expire_on_commit=False)) as app, AppClient(app) as client:
        yield client
    quick.dispose()


def _hold(connection: Connection, opportunity_id: str) -> None:
    """Take the lock an update of the opportunity needs, and keep it until the block ends."""
    if connection.dialect.name == "sqlite":  # a writer holds the database's write lock
        connection.execute(text("UPDATE security_epoch SET value = value + 1"))
    else:
        lock = "SELECT id FROM opportunities WHERE id = :id FOR UPDATE"
        connection.execute(text(lock), {"id": opportunity_id})


def test_an_update_that_waits_too_long_for_a_lock_is_a_conflict_to_retry(
    engine: Engine, factory: sessionmaker[Session], client: AppClient, impatient: AppClient
) -> None:
    headers = signed_in(client, factory, "alice", roles=["sales-manager"])
    made = create(client, headers, "opportunities", name="50 laptops")
    path = f"/api/v1/opportunities/{made['id']}"
    with engine.connect() as holder:
        _hold(holder, made["id"])
        answer = impatient.patch(path, json={"name": "60 laptops"}, headers=headers)
        odata = impatient.patch(
            f"{API}/opportunities({made['id']})", json={"name": "70 laptops"}, headers=headers
        )
        holder.rollback()
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "retry" in answer.json()["detail"]
    assert odata.status_code == 409, odata.text
    assert "retry" in odata.json()["error"]["message"]
    assert client.get(path, headers=headers).json()["name"] == "50 laptops"


def test_a_form_that_waits_too_long_for_a_lock_is_refused_as_busy(
    engine: Engine, factory: sessionmaker[Session], impatient: AppClient
) -> None:
    make_user(factory, "alice")
    csrf = web_login(impatient, "alice")
    opportunity_id = make_opportunity(factory, "alice")
    with unit_of_work(factory, read_only=True) as session:
        version = session.scalars(select(Opportunity.version).filter_by(id=opportunity_id)).one()
    form = {"csrf": csrf, "version": str(version), "panel": "qualify", "fields": "budget_amount"}
    with engine.connect() as holder:
        _hold(holder, str(opportunity_id))
        answer = impatient.post(
            f"/opportunities/{opportunity_id}/steps",
            data=form | {"budget_amount": "10"},
            headers={"X-Oppflow-Fetch": "1"},
        )
        holder.rollback()
    assert answer.status_code == 409, answer.text
    assert answer.json()["message"] == "The database is busy; try again."
