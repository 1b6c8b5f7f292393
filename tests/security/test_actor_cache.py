"""Each server process caches the actor of a token; the security epoch keeps that cache exactly
as correct as resolving the actor on every request, in this process and in any other."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import ApiToken, SecurityEpoch
from tests.client import AppClient, app_on
from tests.helpers import create_opportunity, create_user, login, signed_in
from tests.served import served

Factory = sessionmaker[Session]
H = dict[str, str]
AUDIT = "/api/v1/audit"  # salespeople may not read it (403), sales managers may (200)


def epoch_of(factory: Factory) -> int:
    with unit_of_work(factory) as session:
        return session.scalars(select(SecurityEpoch.value)).one()


def set_roles(http: httpx.Client | TestClient, admin: H, user_id: str, roles: list[str]) -> None:
    answer = http.patch(f"/api/v1/users/{user_id}", json={"roles": roles}, headers=admin)
    assert answer.status_code == 200, answer.text


def set_active(http: httpx.Client | TestClient, admin: H, user_id: str, active: bool) -> None:
    answer = http.patch(f"/api/v1/users/{user_id}", json={"is_active": active}, headers=admin)
    assert answer.status_code == 200, answer.text


def test_a_role_given_or_taken_applies_on_the_next_request(
    client: TestClient, factory: Factory
) -> None:
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    sam_id = create_user(factory, "sam")
    sam = login(client, "sam")
    assert client.get(AUDIT, headers=sam).status_code == 403  # now cached
    set_roles(client, admin, sam_id, ["salesperson", "sales-manager"])
    assert client.get(AUDIT, headers=sam).status_code == 200
    set_roles(client, admin, sam_id, ["salesperson"])
    assert client.get(AUDIT, headers=sam).status_code == 403


def test_team_membership_and_team_roles_apply_on_the_next_request(
    client: TestClient, factory: Factory
) -> None:
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    sam_id = create_user(factory, "sam")
    sam = login(client, "sam")
    assert client.get(AUDIT, headers=sam).status_code == 403
    team = client.post(
        "/api/v1/teams",
        json={"name": "Managers", "member_ids": [sam_id], "roles": ["sales-manager"]},
        headers=admin,
    )
    assert team.status_code == 201, team.text
    assert client.get(AUDIT, headers=sam).status_code == 200
    team_url = f"/api/v1/teams/{team.json()['id']}"
    assert client.patch(team_url, json={"member_ids": []}, headers=admin).status_code == 200
    assert client.get(AUDIT, headers=sam).status_code == 403
    changed = client.patch(team_url, json={"member_ids": [sam_id], "roles": []}, headers=admin)
    assert changed.status_code == 200
    assert client.get(AUDIT, headers=sam).status_code == 403


def test_disabling_a_user_ends_their_tokens_for_good(client: TestClient, factory: Factory) -> None:
    """Enabling the user again must not revive the tokens issued before (OWASP)."""
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    sam_id = create_user(factory, "sam")
    sam = login(client, "sam")
    deal = create_opportunity(client, sam)
    set_active(client, admin, sam_id, False)
    assert client.get(f"/api/v1/opportunities/{deal['id']}", headers=sam).status_code == 401
    set_active(client, admin, sam_id, True)
    assert client.get("/api/v1/auth/me", headers=sam).status_code == 401
    with unit_of_work(factory) as session:
        tokens = session.scalars(
            select(ApiToken).where(ApiToken.user_id == uuid.UUID(sam_id))
        ).all()
    assert tokens
    assert all(token.revoked_at is not None for token in tokens)
    assert client.get("/api/v1/auth/me", headers=login(client, "sam")).status_code == 200


def test_security_changes_bump_the_epoch_and_record_changes_do_not(
    client: TestClient, factory: Factory
) -> None:
    admin = signed_in(client, factory, "root", roles=["system-administrator"])
    sam_id = create_user(factory, "sam")
    sam = login(client, "sam")
    before = epoch_of(factory)
    deal = create_opportunity(client, sam)
    changed = client.patch(
        f"/api/v1/opportunities/{deal['id']}", json={"rating": "hot"}, headers=sam
    )
    assert changed.status_code == 200
    assert epoch_of(factory) == before
    unit = client.post("/api/v1/business-units", json={"name": "West"}, headers=admin)
    assert unit.status_code == 201, unit.text
    assert epoch_of(factory) == before + 1
    moved = client.patch(
        f"/api/v1/users/{sam_id}", json={"business_unit_id": unit.json()["id"]}, headers=admin
    )
    assert moved.status_code == 200
    assert epoch_of(factory) == before + 2
    assert (
        client.get("/api/v1/auth/me", headers=sam).json()["business_unit_id"] == unit.json()["id"]
    )


def test_changes_made_through_one_server_apply_on_the_next_request_to_another(
    engine: Engine, factory: Factory, tmp_path: Path
) -> None:
    """Two server processes on one database: each caches the actors it resolves; a role
    removed, a user disabled or a token revoked through the first is refused by the second."""
    with app_on(factory) as app, AppClient(app) as local:
        admin = signed_in(local, factory, "root", roles=["system-administrator"])
        sam_id = create_user(factory, "sam", roles=["salesperson", "sales-manager"])
        sam, spare = login(local, "sam"), login(local, "sam")
    with (
        served(engine, tmp_path) as first,
        served(engine, tmp_path) as second,
        httpx.Client(base_url=first, timeout=30) as one,
        httpx.Client(base_url=second, timeout=30) as two,
    ):
        for server in (one, two):  # both processes resolve and cache sam's actor
            assert server.get(AUDIT, headers=sam).status_code == 200
        set_roles(one, admin, sam_id, ["salesperson"])
        assert two.get(AUDIT, headers=sam).status_code == 403
        assert one.post("/api/v1/auth/revoke", headers=spare).status_code == 204
        assert two.get("/api/v1/auth/me", headers=spare).status_code == 401
        set_active(one, admin, sam_id, False)
        assert two.get("/api/v1/auth/me", headers=sam).status_code == 401
        set_active(one, admin, sam_id, True)
        assert two.get("/api/v1/auth/me", headers=sam).status_code == 401


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache, as a newly started server does."""
    from oppflow.security.actor_cache import actors

    actors.clear()
