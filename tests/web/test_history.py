"""The History tab in words, through the app on SQLite and PostgreSQL: field labels and option
labels in the reader's language, referenced records by name with a link, and nothing named that
the reader may not read."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from oppflow.db import unit_of_work
from oppflow.sales import service as sales_service
from oppflow.sales import sharing
from oppflow.sales.schemas import OpportunityUpdate
from oppflow.security import service as security_service
from oppflow.web.i18n import LANGUAGE_COOKIE
from tests.web.support import Factory, make_customer, make_opportunity, make_user, web_login


def update(factory: Factory, username: str, opportunity_id: uuid.UUID, **fields: object) -> None:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        data = OpportunityUpdate.model_validate(fields)
        sales_service.update_opportunity(
            session, actor=actor, opportunity_id=opportunity_id, data=data
        )


def history_of(client: TestClient, opportunity_id: uuid.UUID, language: str) -> str:
    client.cookies.set(LANGUAGE_COOKIE, language)
    answer = client.get(f"/opportunities/{opportunity_id}?tab=history")
    assert answer.status_code == 200
    start = answer.text.index('<ol class="timeline">')
    text: str = answer.text
    return text[start : text.index("</ol>", start)]


@pytest.fixture
def mona(client: TestClient, factory: Factory) -> uuid.UUID:
    """Mona, a sales manager of the West unit (she reads the audit log), logged in."""
    made = make_user(factory, "mona", roles=["sales-manager"], unit="West")
    web_login(client, "mona")
    return made


def test_fields_options_and_records_are_named_in_the_readers_language(
    client: TestClient, factory: Factory, mona: uuid.UUID
) -> None:
    account_id, _ = make_customer(factory, "mona", "Contoso", "Jane Doe")
    opportunity_id = make_opportunity(factory, "mona", name="Laptops")
    update(
        factory,
        "mona",
        opportunity_id,
        forecast_category="committed",
        rating="hot",
        account_id=str(account_id),
        budget_amount="48000",
        decision_maker_identified=True,
    )
    english = history_of(client, opportunity_id, "en")
    assert '<th scope="row">Forecast category</th>' in english
    assert "Committed" in english
    assert "committed</td>" not in english
    assert '<th scope="row">Account</th>' in english
    assert f'<a href="/accounts/{account_id}">Contoso</a>' in english
    assert '<th scope="row">Estimated Budget</th>' in english
    assert "$48,000" in english
    assert "forecast_category" not in english
    assert str(account_id) + "<" not in english
    french = history_of(client, opportunity_id, "fr")
    assert '<th scope="row">Catégorie de prévision</th>' in french
    assert "Engagé" in french or "Validé" in french
    assert '<th scope="row">Compte</th>' in french
    assert "Oui" in french


def test_a_record_the_reader_may_not_read_is_never_named(
    client: TestClient, factory: Factory, mona: uuid.UUID
) -> None:
    make_user(factory, "erin", unit="East")
    secret_id, _ = make_customer(factory, "erin", "Secret Corp", "Sam Secret")
    opportunity_id = make_opportunity(factory, "mona", name="Routers")
    with unit_of_work(factory) as session:
        # Erin lets Mona read her account long enough for Mona to link it, then withdraws.
        erin = security_service.actor_by_username(session, "erin")
        shares = sharing.share(
            session,
            actor=erin,
            things="accounts",
            record_id=secret_id,
            principal_type="user",
            principal_id=mona,
            actions=["read"],
        )
        share_id = shares[0].id
    update(factory, "mona", opportunity_id, account_id=str(secret_id))
    assert "Secret Corp" in history_of(client, opportunity_id, "en")
    with unit_of_work(factory) as session:
        erin = security_service.actor_by_username(session, "erin")
        sharing.unshare(
            session, actor=erin, things="accounts", record_id=secret_id, share_id=share_id
        )
    english = history_of(client, opportunity_id, "en")
    assert "Secret Corp" not in english
    assert "A record you cannot see" in english
    assert f"/accounts/{secret_id}" not in english
    assert "Un enregistrement que vous ne pouvez pas voir" in history_of(
        client, opportunity_id, "fr"
    )


def test_shares_name_the_user_and_the_rights(
    client: TestClient, factory: Factory, mona: uuid.UUID
) -> None:
    make_user(factory, "sam", unit="West")
    opportunity_id = make_opportunity(factory, "mona", name="Desks", estimated_value=Decimal(10))
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, "mona")
        sam = security_service.actor_by_username(session, "sam").user_id
        sharing.share(
            session,
            actor=actor,
            things="opportunities",
            record_id=opportunity_id,
            principal_type="user",
            principal_id=sam,
            actions=["read", "share"],
        )
    english = history_of(client, opportunity_id, "en")
    assert "Shared the opportunity" in english
    assert '<th scope="row">Shared with</th>' in english
    assert "Sam" in english
    assert "Read, Share" in english
    french = history_of(client, opportunity_id, "fr")
    assert "Lire, Partager" in french
