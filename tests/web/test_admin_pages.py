"""Administration pages over HTTP on SQLite and PostgreSQL: roles created, copied and edited in
the privilege grid (and their effect on a user), business units renamed and moved, a user's time
zone; refusals change nothing."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from oppflow.db import unit_of_work
from oppflow.models import BusinessUnit, Role, User
from oppflow.security import roles
from tests.client import AppClient
from tests.web.support import Factory, csrf_of, make_opportunity, make_user, web_login


def post(client: TestClient, url: str, data: dict[str, object]) -> None:
    token = csrf_of(client.get("/").text)
    answer = client.post(url, data={"csrf": token, **data}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def grid_of(factory: Factory, key: str) -> dict[tuple[str, str], str]:
    with unit_of_work(factory) as session:
        role = roles.get_role(session, key)
        return {(p.table_name, p.action): p.depth for p in role.privileges}


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> uuid.UUID:
    made = make_user(factory, "root", roles=["system-administrator"])
    web_login(client, "root")
    return made


def test_a_role_made_in_the_grid_opens_and_closes_records(
    client: TestClient, factory: Factory, admin: uuid.UUID
) -> None:
    make_user(factory, "bob")
    deal = make_opportunity(factory, "bob", name="Bob's deal")
    post(client, "/admin/roles", {"key": "deal-reader", "name": "Deal reader"})
    assert grid_of(factory, "deal-reader") == {}
    post(
        client,
        "/admin/roles/deal-reader",
        {"name": "Deal reader", "p.opportunity.read": "organization"},
    )
    assert grid_of(factory, "deal-reader") == {("opportunity", "read"): "organization"}
    make_user(factory, "nora", roles=["deal-reader"], unit="Far away")
    with AppClient(client.app) as nora:
        web_login(nora, "nora")
        assert nora.get(f"/opportunities/{deal}").status_code == 200
        post(
            client,
            "/admin/roles/deal-reader",
            {"name": "Deal reader", "p.opportunity.read": "user"},
        )
        assert nora.get(f"/opportunities/{deal}").status_code == 404
    page = client.get("/admin/roles/deal-reader").text
    assert 'aria-labelledby="t-opportunity a-read"' in page
    assert '<option value="user" selected>User</option>' in page


def test_copy_a_role_and_built_ins_stay_as_they_are(
    client: TestClient, factory: Factory, admin: uuid.UUID
) -> None:
    post(
        client,
        "/admin/roles",
        {"key": "field-sales", "name": "Field sales", "copy_from": "salesperson"},
    )
    assert grid_of(factory, "field-sales") == grid_of(factory, "salesperson")
    before = grid_of(factory, "salesperson")
    post(client, "/admin/roles/salesperson", {"name": "Mine now", "p.audit.read": "organization"})
    assert grid_of(factory, "salesperson") == before
    assert "flash-error" in client.get("/admin/roles/salesperson").text
    post(client, "/admin/roles/field-sales", {"name": "Field sales", "p.lead.read": "galaxy"})
    assert grid_of(factory, "field-sales") == before
    post(client, "/admin/roles", {"key": "Bad Key!", "name": "x"})
    with unit_of_work(factory) as session:
        assert session.scalar(select(Role).where(Role.name == "x")) is None


def test_a_salesperson_cannot_make_roles(client: TestClient, factory: Factory) -> None:
    make_user(factory, "alice")
    web_login(client, "alice")
    post(client, "/admin/roles", {"key": "sneaky", "name": "Sneaky"})
    with unit_of_work(factory) as session:
        assert session.scalar(select(Role).where(Role.key == "sneaky")) is None


def test_rename_and_move_business_units(
    client: TestClient, factory: Factory, admin: uuid.UUID
) -> None:
    make_user(factory, "erin", unit="East")
    make_user(factory, "will", unit="West")
    with unit_of_work(factory) as session:
        east = session.scalar(select(BusinessUnit.id).where(BusinessUnit.name == "East"))
        west = session.scalar(select(BusinessUnit.id).where(BusinessUnit.name == "West"))
    post(client, f"/admin/business-units/{west}", {"name": "West coast", "parent_id": str(east)})
    with unit_of_work(factory) as session:
        moved = session.get(BusinessUnit, west)
        assert moved is not None
        assert (moved.name, moved.parent_id) == ("West coast", east)
    post(client, f"/admin/business-units/{east}", {"name": "East", "parent_id": str(west)})
    with unit_of_work(factory) as session:
        assert session.get(BusinessUnit, east).parent_id != west  # type: ignore[union-attr]
    assert "flash-error" in client.get("/admin").text


def test_an_administrator_sets_a_users_time_zone(
    client: TestClient, factory: Factory, admin: uuid.UUID
) -> None:
    alice = make_user(factory, "alice")
    post(client, f"/admin/users/{alice}/time-zone", {"time_zone": "Europe/Paris"})
    with unit_of_work(factory) as session:
        assert session.get(User, alice).time_zone == "Europe/Paris"  # type: ignore[union-attr]
    with AppClient(client.app) as own:
        web_login(own, "alice")
        post(own, f"/admin/users/{admin}/time-zone", {"time_zone": "Asia/Tokyo"})
    with unit_of_work(factory) as session:
        assert session.get(User, admin).time_zone is None  # type: ignore[union-attr]


def test_the_grid_speaks_french(client: TestClient, factory: Factory, admin: uuid.UUID) -> None:
    client.cookies.set("oppflow_lang", "fr")
    page = client.get("/admin/roles/salesperson").text
    assert "Opportunités" in page
    assert "Organisation" in page
    assert "Les rôles intégrés ne peuvent pas être modifiés" in page
