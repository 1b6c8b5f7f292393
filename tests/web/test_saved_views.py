"""Saved views and chosen columns of the opportunity list, over HTTP on SQLite and PostgreSQL:
each user's own, replaced by name, never another's."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import SavedView
from tests.client import AppClient
from tests.web.support import Factory, csrf_of, make_opportunity, make_user, web_login


@pytest.fixture
def alice(client: TestClient, factory: Factory) -> uuid.UUID:
    made = make_user(factory, "alice")
    web_login(client, "alice")
    return made


def save(client: TestClient, name: str, query: str) -> str:
    token = csrf_of(client.get("/opportunities").text)
    answer = client.post(
        "/opportunities/views",
        data={"csrf": token, "name": name, "query": query},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return str(answer.headers["location"])


def test_chosen_columns_show_and_unknown_ones_are_ignored(
    client: TestClient, factory: Factory, alice: uuid.UUID
) -> None:
    make_opportunity(factory, "alice", name="Columns deal")
    page = client.get("/opportunities?cols=rating&cols=forecast_category&cols=nonsense").text
    head = page[page.index("<thead>") : page.index("</thead>")]
    labels = [label.strip() for label in re.findall(r">\s*([A-Z][a-z ]+)\s*</th>", head)]
    assert labels == ["Forecast category", "Rating"]
    assert "Pipeline" in page  # the forecast category's label in the row
    default = client.get("/opportunities").text
    assert "Estimated revenue" in default[default.index("<thead>") : default.index("</thead>")]


def test_save_apply_replace_and_delete_a_view(
    client: TestClient, factory: Factory, alice: uuid.UUID
) -> None:
    make_opportunity(factory, "alice", name="Alpha")
    make_opportunity(factory, "alice", name="Beta")
    where = save(client, "Alphas", "view=open&q=Alp&cols=owner,rating&page=3")
    assert where.startswith("/opportunities?")
    assert "page=" not in where
    page = client.get(where).text
    assert "Alpha" in page
    assert "Beta" not in page
    save(client, "Alphas", "view=open&q=Bet")
    with unit_of_work(factory) as session:
        views = list(session.scalars(select(SavedView)))
    assert [(view.name, view.query) for view in views] == [("Alphas", {"view": "open", "q": "Bet"})]
    listing = client.get("/opportunities").text
    assert ">Alphas</a>" in listing
    token = csrf_of(listing)
    client.post(f"/opportunities/views/{views[0].id}/delete", data={"csrf": token})
    with unit_of_work(factory) as session:
        assert list(session.scalars(select(SavedView))) == []


def test_views_are_each_users_own(client: TestClient, factory: Factory, alice: uuid.UUID) -> None:
    save(client, "Mine", "view=open")
    with unit_of_work(factory) as session:
        view_id = session.scalars(select(SavedView.id)).one()
    make_user(factory, "bob")
    with AppClient(client.app) as bob:
        web_login(bob, "bob")
        assert ">Mine</a>" not in bob.get("/opportunities").text
        token = csrf_of(bob.get("/opportunities").text)
        bob.post(f"/opportunities/views/{view_id}/delete", data={"csrf": token})
    with unit_of_work(factory) as session:
        assert session.get(SavedView, view_id) is not None
    token = csrf_of(client.get("/opportunities").text)
    blank = client.post(
        "/opportunities/views",
        data={"csrf": token, "name": "   ", "query": ""},
        follow_redirects=False,
    )
    assert blank.status_code == 303
    assert "flash-error" in client.get("/opportunities").text
