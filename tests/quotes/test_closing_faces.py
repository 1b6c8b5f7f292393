"""Losing an opportunity closes its open quotes whichever face closes it: the web page and the
CLI here, the API in ``test_journey.py`` (the rule lives in the closing service)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import get_engine, make_engine, session_factory, unit_of_work
from oppflow.install import prepare_database
from oppflow.quotes import service as quote_service
from oppflow.quotes.repository import QuoteRepository
from oppflow.quotes.schemas import LineCreate, QuoteCreate
from oppflow.security import service as security_service
from tests.web.support import make_opportunity, make_user, web_login

Factory = sessionmaker[Session]


def quoted(factory: Factory, username: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """An opportunity with a draft quote and an active one (through the services)."""
    opportunity_id = make_opportunity(factory, username)
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        made = [
            quote_service.create_from_opportunity(
                session, actor=actor, opportunity_id=opportunity_id, data=QuoteCreate()
            )
            for _ in range(2)
        ]
        line = LineCreate(write_in_name="Service", quantity=1, price_per_unit=100)
        quote_service.add_quote_line(session, actor=actor, quote_id=made[1].id, data=line)
        quote_service.activate(session, actor=actor, quote_id=made[1].id)
        return opportunity_id, [quote.id for quote in made]


def outcomes(factory: Factory, username: str, ids: list[uuid.UUID]) -> list[tuple[str, str]]:
    with unit_of_work(factory) as session:
        actor = security_service.actor_by_username(session, username)
        found = [QuoteRepository(session, actor).get(quote_id) for quote_id in ids]
        return [(quote.state, quote.status_reason) for quote in found]


CLOSED = [("closed", "canceled"), ("closed", "lost")]


def test_losing_on_the_web_page_closes_the_quotes(client: TestClient, factory: Factory) -> None:
    make_user(factory, "wendy")
    opportunity_id, quotes = quoted(factory, "wendy")
    csrf = web_login(client, "wendy")
    answer = client.post(
        f"/opportunities/{opportunity_id}/lose",
        data={"csrf": csrf, "status_reason": "out_sold"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert outcomes(factory, "wendy", quotes) == CLOSED


@pytest.fixture
def cli_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Factory]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    prepare_database(engine)
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", url)
    caches = (get_settings, get_engine, session_factory)
    for cache in caches:
        cache.cache_clear()
    yield sessionmaker(bind=engine, expire_on_commit=False)
    get_engine().dispose()
    engine.dispose()
    for cache in caches:
        cache.cache_clear()


def test_losing_from_the_command_line_closes_the_quotes(cli_factory: Factory) -> None:
    make_user(cli_factory, "carl")
    opportunity_id, quotes = quoted(cli_factory, "carl")
    result = CliRunner().invoke(app, ["opportunity", "lose", str(opportunity_id), "--as", "carl"])
    assert result.exit_code == 0, result.output
    assert outcomes(cli_factory, "carl", quotes) == CLOSED
