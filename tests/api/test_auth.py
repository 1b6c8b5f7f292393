"""Authentication through HTTP: who gets 401, and what the database keeps of secrets."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.clock import utcnow
from oppflow.db import unit_of_work
from oppflow.models import ApiToken, User
from oppflow.security import service as security_service
from tests.helpers import PASSWORD, create_user, login, signed_in

PROTECTED = [
    ("GET", "/api/v1/opportunities"),
    ("POST", "/api/v1/opportunities"),
    ("GET", "/api/v1/opportunities/00000000-0000-4000-8000-000000000000/process"),
    ("POST", "/api/v1/opportunities/00000000-0000-4000-8000-000000000000/process/next"),
    ("GET", "/api/v1/accounts"),
    ("GET", "/api/v1/processes"),
    ("POST", "/api/v1/processes"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/revoke"),
    ("GET", "/api/v1/analytics/funnel"),
]


def assert_401(answer: Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    problem = answer.json()
    assert problem["status"] == 401
    assert problem["type"] == "https://oppflow.dev/problems/unauthorized"
    assert problem["detail"]


def me(client: TestClient, headers: dict[str, str]) -> int:
    status: int = client.get("/api/v1/auth/me", headers=headers).status_code
    return status


def test_no_token_is_401_everywhere(client: TestClient) -> None:
    for method, path in PROTECTED:
        assert_401(client.request(method, path, json={}))


def test_a_wrong_token_is_401(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    secret = headers["Authorization"].removeprefix("Bearer ")
    assert me(client, headers) == 200
    for authorization in [
        "Bearer opf_not-a-real-token",
        f"Bearer {secret[:-1]}",
        f"Bearer {secret}x",
        f"Bearer {secret.upper()}",
        "Bearer ",
        f"Basic {secret}",
        secret,
        "Bearer " + "x" * 5000,
    ]:
        answer = client.get("/api/v1/opportunities", headers={"Authorization": authorization})
        assert_401(answer)
    assert me(client, headers) == 200


def test_the_public_endpoints_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_a_revoked_token_is_401_and_other_tokens_still_work(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    other = login(client)
    assert me(client, headers) == 200
    answer = client.post("/api/v1/auth/revoke", headers=headers)
    assert answer.status_code == 204, answer.text
    assert_401(client.get("/api/v1/auth/me", headers=headers))
    assert_401(client.post("/api/v1/auth/revoke", headers=headers))
    assert me(client, other) == 200
    with unit_of_work(factory) as session:
        revoked = session.scalars(select(ApiToken.revoked_at)).all()
    assert sorted(r is not None for r in revoked) == [False, True]


def test_an_expired_token_is_401(client: TestClient, factory: sessionmaker[Session]) -> None:
    create_user(factory)
    with unit_of_work(factory) as session:
        secret, token = security_service.create_api_token(session, username="alice", name="ci")
        token_id = token.id
    headers = {"Authorization": f"Bearer {secret}"}
    assert me(client, headers) == 200
    with unit_of_work(factory) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert_401(client.get("/api/v1/auth/me", headers=headers))
    with unit_of_work(factory) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(expires_at=utcnow() + timedelta(minutes=5))
        )
    assert me(client, headers) == 200


def test_a_disabled_users_token_is_401(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    assert me(client, headers) == 200
    with unit_of_work(factory) as session:
        session.execute(update(User).where(User.username == "alice").values(is_active=False))
    assert_401(client.get("/api/v1/auth/me", headers=headers))
    # nor can the disabled user log in again, with the same message as a wrong password
    answer = client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD})
    assert_401(answer)
    assert answer.json()["detail"] == security_service.BAD_CREDENTIALS


def test_wrong_password_and_unknown_user_answer_alike(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    create_user(factory)
    wrong = client.post("/api/v1/auth/token", data={"username": "alice", "password": "nope-12345"})
    unknown = client.post("/api/v1/auth/token", data={"username": "mallory", "password": PASSWORD})
    for answer in (wrong, unknown):
        assert_401(answer)
        assert "access_token" not in answer.json()
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json() == unknown.json() | {"instance": wrong.json()["instance"]}
    with unit_of_work(factory) as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_the_database_keeps_only_hashes(client: TestClient, factory: sessionmaker[Session]) -> None:
    create_user(factory)
    secrets = [login(client)["Authorization"].removeprefix("Bearer ") for _ in range(2)]
    with unit_of_work(factory) as session:
        api_secret, _ = security_service.create_api_token(session, username="alice", name="ci")
    secrets.append(api_secret)
    assert len(set(secrets)) == 3
    with unit_of_work(factory) as session:
        token_rows = [tuple(row) for row in session.execute(text("SELECT * FROM api_tokens"))]
        token_hashes = session.scalars(text("SELECT token_hash FROM api_tokens")).all()
        password_hash = session.scalar(
            text("SELECT password_hash FROM users WHERE username = 'alice'")
        )
    assert len(token_rows) == 3
    stored = " ".join(str(value) for row in token_rows for value in row)
    for secret in secrets:
        assert secret not in stored
        assert secret[4:] not in stored  # not even without its prefix
    assert len(set(token_hashes)) == 3
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in token_hashes)
    assert isinstance(password_hash, str)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    # and the API never echoes the hash
    headers = {"Authorization": f"Bearer {api_secret}"}
    profile = client.get("/api/v1/auth/me", headers=headers)
    assert profile.status_code == 200
    assert "argon2" not in profile.text
    assert "password" not in profile.text
