"""Authentication hardening and the audit log, through HTTP on both databases: disabled users,
revoked and expired tokens, log-in throttling, identical failure messages, and audit rows for
every mutation with old and new values, read within the reader's depth and never altered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import utcnow
from oppflow.config import get_settings
from oppflow.db import unit_of_work
from oppflow.models import ApiToken
from oppflow.security import organization, passwords
from oppflow.security import service as security_service
from oppflow.security.repository import BusinessUnitRepository
from oppflow.security.schemas import BusinessUnitCreate, UserCreate
from tests.helpers import PASSWORD, create_opportunity, create_user, login, qualify_fields
from tests.security.world import api_path

WRONG = "wrong-horse-9"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its production cost takes a tenth of a second or more per hash, and these tests
    log in dozens of times; the rules under test do not depend on the cost."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)


def log_in(client: TestClient, username: str, password: str) -> Response:
    form = {"username": username, "password": password}
    answer: Response = client.post("/api/v1/auth/token", data=form)
    return answer


def me(client: TestClient, headers: dict[str, str]) -> int:
    status: int = client.get("/api/v1/auth/me", headers=headers).status_code
    return status


def admin_of(client: TestClient, factory: sessionmaker[Session]) -> dict[str, str]:
    create_user(factory, "root", roles=["system-administrator"])
    return login(client, "root")


def without_instance(answer: Response) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()
    body.pop("instance", None)
    return body


# Disabled users and tokens.
def test_a_disabled_user_gets_401_with_their_old_token_and_cannot_log_in(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = admin_of(client, factory)
    alice_id = create_user(factory, "alice")
    alice = login(client, "alice")
    deal = create_opportunity(client, alice)

    answer = client.patch(f"/api/v1/users/{alice_id}", json={"is_active": False}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["is_active"] is False
    assert me(client, alice) == 401
    assert client.get(f"/api/v1/opportunities/{deal['id']}", headers=alice).status_code == 401
    refused = log_in(client, "alice", PASSWORD)
    assert refused.status_code == 401
    assert refused.json()["detail"] == security_service.BAD_CREDENTIALS
    assert "access_token" not in refused.json()
    # their records stay
    kept = client.get(f"/api/v1/opportunities/{deal['id']}", headers=admin)
    assert kept.status_code == 200
    assert kept.json()["owner_id"] == alice_id

    answer = client.patch(f"/api/v1/users/{alice_id}", json={"is_active": True}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert me(client, login(client, "alice")) == 200


def test_revoked_tokens_get_401(client: TestClient, factory: sessionmaker[Session]) -> None:
    create_user(factory, "alice")
    create_user(factory, "bob")
    first, second, third = (login(client, "alice") for _ in range(3))
    bob = login(client, "bob")

    assert client.post("/api/v1/auth/revoke", headers=first).status_code == 204
    assert me(client, first) == 401
    assert me(client, second) == 200

    tokens = client.get("/api/v1/auth/tokens", headers=second).json()["items"]
    assert len(tokens) == 3
    live = [t for t in tokens if t["revoked_at"] is None]
    newest = max(live, key=lambda t: t["created_at"])
    # another user's token does not exist for bob
    assert client.delete(f"/api/v1/auth/tokens/{newest['id']}", headers=bob).status_code == 404
    assert me(client, third) == 200
    assert client.delete(f"/api/v1/auth/tokens/{newest['id']}", headers=second).status_code == 204
    assert me(client, third) == 401
    assert me(client, second) == 200
    assert me(client, bob) == 200


def test_an_expired_token_gets_401(client: TestClient, factory: sessionmaker[Session]) -> None:
    create_user(factory, "alice")
    headers = login(client, "alice")
    assert me(client, headers) == 200
    with unit_of_work(factory) as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert me(client, headers) == 401
    assert client.get("/api/v1/opportunities", headers=headers).status_code == 401


# Throttling and messages.
def test_the_tenth_bad_password_in_a_row_answers_429(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    create_user(factory, "alice")
    create_user(factory, "bob")
    for attempt in range(9):
        assert log_in(client, "alice", WRONG).status_code == 401, attempt
    tenth = log_in(client, "alice", WRONG)
    assert tenth.status_code == 429, tenth.text
    wait = int(tenth.headers["Retry-After"])
    assert 0 < wait <= get_settings().login_window_minutes * 60 + 1
    # the right password is refused as well, while another user name is not throttled
    right = log_in(client, "alice", PASSWORD)
    assert right.status_code == 429
    assert "Retry-After" in right.headers
    assert "access_token" not in right.json()
    assert log_in(client, "bob", PASSWORD).status_code == 200


def test_a_successful_log_in_resets_the_count(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    create_user(factory, "alice")
    for _ in range(8):
        assert log_in(client, "alice", WRONG).status_code == 401
    assert log_in(client, "alice", PASSWORD).status_code == 200
    for attempt in range(9):
        assert log_in(client, "alice", WRONG).status_code == 401, attempt
    assert log_in(client, "alice", WRONG).status_code == 429


def test_wrong_user_and_wrong_password_give_the_same_message(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = admin_of(client, factory)
    create_user(factory, "alice")
    carol_id = create_user(factory, "carol")
    client.patch(f"/api/v1/users/{carol_id}", json={"is_active": False}, headers=admin)
    answers = [
        log_in(client, "alice", WRONG),
        log_in(client, "mallory", PASSWORD),
        log_in(client, "carol", PASSWORD),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert all(without_instance(a) == without_instance(answers[0]) for a in answers)
    assert answers[0].json()["detail"] == security_service.BAD_CREDENTIALS


# The audit log.
def audit(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    """Every audit row the caller may read with these filters, oldest first."""
    answer = client.get("/api/v1/audit", params=params | {"limit": "200"}, headers=headers)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["items"]
    return rows[::-1]


def one(rows: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [row for row in rows if row["action"] == action]
    assert len(found) == 1, (action, [row["action"] for row in rows])
    return found[0]


def test_every_mutation_of_an_opportunity_is_audited_with_old_and_new_values(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = admin_of(client, factory)
    alice_id, bob_id = create_user(factory, "alice"), create_user(factory, "bob")
    alice = login(client, "alice")
    deal = create_opportunity(client, alice, name="Deal", estimated_value=100)
    path = f"/api/v1/opportunities/{deal['id']}"

    def ok(answer: Response) -> None:
        assert 200 <= answer.status_code < 300, answer.text

    ok(client.patch(path, json={"name": "Bigger deal", "estimated_value": 250}, headers=alice))
    ok(client.patch(path, json=qualify_fields(client, alice), headers=alice))
    ok(client.post(f"{path}/process/next", headers=alice))
    ok(client.post(f"{path}/win", json={}, headers=alice))
    ok(client.post(f"{path}/reopen", headers=alice))
    ok(client.post(f"{path}/shares", json=share_with(bob_id), headers=alice))
    ok(client.post(f"{path}/assign", json={"owner_id": bob_id}, headers=alice))
    ok(client.delete(path, headers=admin))

    rows = audit(client, admin, table="opportunity", record_id=deal["id"])
    actions = [row["action"] for row in rows]
    assert actions[0] == "create"
    assert actions[-1] == "delete"
    for row in rows:
        assert row["record_id"] == deal["id"]
        assert row["table_name"] == "opportunities"
        assert row["address"] == "testclient"
        assert row["at"]
    by_alice = [row for row in rows if row["action"] != "delete"]
    assert {row["actor_id"] for row in by_alice} == {alice_id}

    created = one(rows, "create")["changes"]
    assert created["name"] == [None, "Deal"]
    assert created["owner_id"] == [None, alice_id]
    renamed = next(r for r in rows if r["action"] == "update" and "name" in r["changes"])
    assert renamed["changes"]["name"] == ["Deal", "Bigger deal"]
    old_value, new_value = renamed["changes"]["estimated_value"]
    assert (Decimal(old_value), Decimal(new_value)) == (Decimal(100), Decimal(250))

    moved = one(rows, "stage_move")["changes"]
    assert moved["active_stage"] == ["qualify", "develop"]
    closed = one(rows, "close")["changes"]
    assert closed["state"] == ["open", "won"]
    reopened = one(rows, "reopen")["changes"]
    assert reopened["state"] == ["won", "open"]
    shared = one(rows, "share")["changes"]
    assert shared["principal"] == [None, f"user:{bob_id}"]
    assert shared["actions"] == [None, ["read", "write"]]
    assigned = one(rows, "assign")["changes"]
    assert assigned["owner_id"] == [alice_id, bob_id]
    deleted = one(rows, "delete")
    assert deleted["changes"]["name"] == ["Bigger deal", None]
    assert deleted["actor_id"] is not None
    assert actions.index("stage_move") < actions.index("close") < actions.index("reopen")


def share_with(user_id: str) -> dict[str, Any]:
    return {"principal_type": "user", "principal_id": user_id, "actions": ["read", "write"]}


def test_role_changes_and_log_ins_are_audited(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = admin_of(client, factory)
    bob_id = create_user(factory, "bob")
    answer = client.patch(
        f"/api/v1/users/{bob_id}", json={"roles": ["sales-manager"]}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["roles"] == ["sales-manager"]
    login(client, "bob")
    assert log_in(client, "bob", WRONG).status_code == 401
    assert log_in(client, "nobody", WRONG).status_code == 401

    rows = audit(client, admin, table="user", record_id=bob_id)
    role_change = one(rows, "role_change")
    assert role_change["changes"]["roles"] == [["salesperson"], ["sales-manager"]]
    assert role_change["actor_id"] is not None
    assert one(rows, "login_success")["subject"] == "bob"
    failures = [r for r in audit(client, admin, table="user") if r["action"] == "login_failure"]
    assert [(r["subject"], r["address"]) for r in failures] == [
        ("bob", "testclient"),
        ("nobody", "testclient"),
    ]
    assert all("password" not in str(r["changes"]) for r in failures)


def organisation(factory: sessionmaker[Session]) -> dict[str, dict[str, str]]:
    """West (with West-Child) and East; a manager in West; a salesperson in each unit; the
    administrator at the root. Returns each user's id and authorization headers."""
    people = {
        "manager": ("West", "sales-manager"),
        "sally": ("West", "salesperson"),
        "cole": ("West-Child", "salesperson"),
        "erin": ("East", "salesperson"),
        "root": (None, "system-administrator"),
    }
    found: dict[str, dict[str, str]] = {}
    with unit_of_work(factory) as session:
        units: dict[str | None, uuid.UUID] = {None: BusinessUnitRepository(session).root().id}
        for name, parent in (("West", None), ("West-Child", "West"), ("East", None)):
            data = BusinessUnitCreate(name=name, parent_id=units[parent])
            units[name] = organization.create_business_unit(session, actor=None, data=data).id
        for username, (unit, role) in people.items():
            user = security_service.create_user(
                session,
                actor=None,
                data=UserCreate(
                    username=username,
                    full_name=username.title(),
                    business_unit_id=units[unit],
                    roles=[role],
                ),
            )
            secret, _ = security_service.create_api_token(session, username=username, name="t")
            found[username] = {"id": str(user.id), "Authorization": f"Bearer {secret}"}
    return found


def test_the_audit_log_is_read_within_the_readers_depth(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    people = organisation(factory)

    def headers(name: str) -> dict[str, str]:
        return {"Authorization": people[name]["Authorization"]}

    deals = {
        name: create_opportunity(client, headers(name), name=f"{name}'s deal")["id"]
        for name in ("sally", "cole", "erin", "manager")
    }
    assert client.get("/api/v1/audit", headers=headers("sally")).status_code == 403
    assert client.get("/api/v1/audit", headers=headers("erin")).status_code == 403
    # Sally (West) works on Erin's East opportunity: shared with her, she changes it; her
    # actions are rows about an East record, which her West manager must not see.
    erin_deal = f"/api/v1/opportunities/{deals['erin']}"
    answer = client.post(
        f"{erin_deal}/shares", json=share_with(people["sally"]["id"]), headers=headers("erin")
    )
    assert answer.status_code == 201, answer.text
    answer = client.patch(erin_deal, json={"description": "from Sally"}, headers=headers("sally"))
    assert answer.status_code == 200, answer.text
    if api_path("opportunities", "sales-team") is not None:
        member = {"user_id": people["sally"]["id"], "role": "sales_team_member"}
        answer = client.post(f"{erin_deal}/sales-team", json=member, headers=headers("erin"))
        assert answer.status_code == 201, answer.text
        answer = client.post(f"{erin_deal}/notes", json={"text": "hi"}, headers=headers("sally"))
        assert answer.status_code == 201, answer.text
    assert client.get(erin_deal, headers=headers("manager")).status_code == 404

    seen = {row["record_id"] for row in audit(client, headers("manager"))}
    assert {deals["sally"], deals["cole"], deals["manager"]} <= seen
    assert deals["erin"] not in seen
    assert audit(client, headers("manager"), record_id=deals["erin"]) == []
    assert audit(client, headers("manager"), actor_id=people["erin"]["id"]) == []
    everything = {row["record_id"] for row in audit(client, headers("root"))}
    assert set(deals.values()) <= everything


def test_no_endpoint_alters_the_audit_log(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = admin_of(client, factory)
    create_opportunity(client, admin)
    before = audit(client, admin)
    assert before
    paths = client.get("/openapi.json").json()["paths"]
    audit_paths = {path: set(methods) for path, methods in paths.items() if "audit" in path}
    assert audit_paths == {"/api/v1/audit": {"get"}}
    seq = before[-1]["seq"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/api/v1/audit", f"/api/v1/audit/{seq}"):
            answer = client.request(method, path, json={"action": "x"}, headers=admin)
            assert answer.status_code in (404, 405), (method, path, answer.status_code)
    assert audit(client, admin)[: len(before)] == before
