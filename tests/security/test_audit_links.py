"""Changes that live in child rows (team members, team roles, role privileges) are audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create_user, signed_in


def audit_rows(client: TestClient, headers: dict[str, str], table: str) -> list[dict[str, object]]:
    answer = client.get("/api/v1/audit", params={"table": table}, headers=headers)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, object]] = answer.json()["items"]
    return rows


def test_team_members_and_roles_are_audited(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = signed_in(client, factory, "admin", roles=["system-administrator"])
    bob = create_user(factory, "bob")
    team = client.post("/api/v1/teams", json={"name": "Closers"}, headers=admin).json()
    answer = client.patch(
        f"/api/v1/teams/{team['id']}",
        json={"member_ids": [bob], "roles": ["sales-manager"]},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    changes = [row["changes"] for row in audit_rows(client, admin, "teams")]
    assert {"member_ids": [[], [bob]], "roles": [[], ["sales-manager"]]} in changes


def test_a_custom_role_privilege_change_is_audited(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    admin = signed_in(client, factory, "admin", roles=["system-administrator"])
    body = {"key": "auditor", "name": "Auditor", "privileges": {"audit": {"read": "user"}}}
    assert client.post("/api/v1/roles", json=body, headers=admin).status_code == 201
    change = {"privileges": {"audit": {"read": "organization"}}}
    assert client.patch("/api/v1/roles/auditor", json=change, headers=admin).status_code == 200
    rows = audit_rows(client, admin, "roles")
    assert any(
        row["action"] == "role_change"
        and row["changes"] == {"audit.read": ["user", "organization"]}
        for row in rows
    )
