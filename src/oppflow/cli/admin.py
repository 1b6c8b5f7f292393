"""Administration commands: business units, teams, roles, user changes and the audit log.

The CLI is the operator's tool (shell access to the server): these commands act with no
actor, as the bootstrap path of the services allows, and are audited as coming from "cli".
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from oppflow.console import AsUser, JsonOut, as_actor, fail, out, print_json, unit
from oppflow.security import audit_service, organization, roles
from oppflow.security.privileges import ACTIONS, TABLES, Depth, Privileges
from oppflow.security.repository import (
    BusinessUnitRepository,
    TeamRepository,
    UserRepository,
    list_business_units,
)
from oppflow.security.schemas import BusinessUnitCreate, TeamCreate, TeamUpdate, UserUpdate

unit_app = typer.Typer(help="Business units (a tree under the organisation).", no_args_is_help=True)
team_app = typer.Typer(help="Teams of users.", no_args_is_help=True)
role_app = typer.Typer(help="Roles and their privileges.", no_args_is_help=True)

DEPTH_MARKS = {
    Depth.NONE: "·",
    Depth.USER: "U",
    Depth.BUSINESS_UNIT: "BU",
    Depth.PARENT_CHILD: "P-C",
    Depth.ORGANIZATION: "Org",
}


def register(app: typer.Typer, user_app: typer.Typer) -> None:
    app.add_typer(unit_app, name="business-unit")
    app.add_typer(team_app, name="team")
    app.add_typer(role_app, name="role")
    app.command("audit")(audit_list)
    user_app.command("update")(user_update)
    user_app.command("disable")(user_disable)
    user_app.command("enable")(user_enable)


@unit_app.command("create")
def unit_create(
    name: str, parent: Annotated[str | None, typer.Option(help="Parent unit's name.")] = None
) -> None:
    """Create a business unit under PARENT (the organisation by default)."""
    with unit() as session:
        parent_id = _unit_id(session, parent) if parent else None
        created = organization.create_business_unit(
            session, actor=None, data=BusinessUnitCreate(name=name, parent_id=parent_id)
        )
        out.print(f"Created business unit {created.name} {created.id}")


def _unit_id(session: Session, name: str) -> uuid.UUID:
    found = BusinessUnitRepository(session).find_by_name(name)
    if found is None:
        fail(f"No business unit named {name!r}.")
    return found.id


@unit_app.command("list")
def unit_list() -> None:
    """The business units as a tree."""
    with unit(read_only=True) as session:
        units = list_business_units(session)
    children: dict[uuid.UUID | None, list[str]] = {}
    by_id = {u.id: u for u in units}
    for u in units:
        children.setdefault(u.parent_id, []).append(str(u.id))

    def show(parent: uuid.UUID | None, depth: int) -> None:
        for child_id in sorted(children.get(parent, []), key=lambda i: by_id[uuid.UUID(i)].name):
            out.print("  " * depth + by_id[uuid.UUID(child_id)].name)
            show(uuid.UUID(child_id), depth + 1)

    show(None, 0)


@team_app.command("create")
def team_create(
    name: str,
    business_unit: Annotated[str | None, typer.Option(help="The team's unit (name).")] = None,
    member: Annotated[list[str] | None, typer.Option(help="A member's user name.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="A role key the team grants.")] = None,
) -> None:
    """Create a team; its roles add to each member's own."""
    with unit() as session:
        data = TeamCreate(
            name=name,
            business_unit_id=_unit_id(session, business_unit) if business_unit else None,
            member_ids=[_user_id(session, m) for m in member or []],
            roles=role or [],
        )
        team = organization.create_team(session, actor=None, data=data)
        out.print(f"Created team {team.name} {team.id}")


@team_app.command("add-member")
def team_add_member(team: str, username: str) -> None:
    """Add a user to a team."""
    with unit() as session:
        found = TeamRepository(session).find_by_name(team)
        if found is None:
            fail(f"No team named {team!r}.")
        members = [m.user_id for m in found.members] + [_user_id(session, username)]
        organization.update_team(
            session, actor=None, team_id=found.id, data=TeamUpdate(member_ids=members)
        )
        out.print(f"{username} is in {team}")


@team_app.command("list")
def team_list() -> None:
    with unit(read_only=True) as session:
        table = Table("team", "members", "roles")
        for team in TeamRepository(session).list():
            names = [UserRepository(session).get(m.user_id).username for m in team.members]
            table.add_row(
                team.name, ", ".join(names), ", ".join(r.role_key for r in team.role_links)
            )
    out.print(table)


def _user_id(session: Session, username: str) -> uuid.UUID:
    found = UserRepository(session).find_by_username(username)
    if found is None:
        fail(f"No user {username!r}.")
    return found.id


@role_app.command("list")
def role_list() -> None:
    with unit(read_only=True) as session:
        table = Table("key", "name", "built-in")
        for role in roles.list_roles(session):
            table.add_row(role.key, role.name, "yes" if role.is_builtin else "no")
    out.print(table)


@role_app.command("show")
def role_show(
    key: str, markdown: Annotated[bool, typer.Option(help="As Markdown.")] = False
) -> None:
    """A role's privilege table: a depth per table and action."""
    with unit(read_only=True) as session:
        role = roles.get_role(session, key)
        granted = {(p.table_name, p.action): Depth.parse(p.depth) for p in role.privileges}
    if markdown:
        out.print(privilege_markdown(granted), highlight=False)
        return
    table = Table("table", *ACTIONS, title=f"{role.name} ({role.key})")
    for name in TABLES:
        table.add_row(name, *[DEPTH_MARKS[granted.get((name, a), Depth.NONE)] for a in ACTIONS])
    out.print(table)


def privilege_markdown(granted: Privileges) -> str:
    """A privilege table as Markdown (the README's tables are made with this)."""
    lines = ["| table | " + " | ".join(ACTIONS) + " |", "|---" * (len(ACTIONS) + 1) + "|"]
    for name in TABLES:
        marks = [DEPTH_MARKS[granted.get((name, a), Depth.NONE)] for a in ACTIONS]
        lines.append(f"| {name} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


@role_app.command("create")
def role_create(
    key: str,
    name: str,
    privileges: Annotated[Path, typer.Option(help="JSON file: {table: {action: depth}}.")],
) -> None:
    """Create a custom role from a JSON privilege table."""
    with unit() as session:
        granted = _read_privileges(privileges)
        role = roles.create_role(session, actor=None, key=key, name=name, privileges=granted)
        out.print(f"Created role {role.key}")


def _read_privileges(path: Path) -> Privileges:
    try:
        data = json.loads(path.read_text("utf-8"))
        return {(t, a): Depth.parse(d) for t, actions in data.items() for a, d in actions.items()}
    except (OSError, ValueError, AttributeError) as error:
        fail(f"{path}: {error}")


def user_update(
    username: str,
    role: Annotated[list[str] | None, typer.Option(help="Replace the roles.")] = None,
    business_unit: Annotated[str | None, typer.Option(help="Move to this unit.")] = None,
    full_name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change a user's roles, business unit or name."""
    with unit() as session:
        values: dict[str, object] = {"roles": role, "full_name": full_name}
        if business_unit:
            values["business_unit_id"] = _unit_id(session, business_unit)
        data = UserUpdate.model_validate({k: v for k, v in values.items() if v is not None})
        user = organization.update_user(
            session, actor=None, user_id=_user_id(session, username), data=data
        )
        out.print(f"{user.username}: {', '.join(user.role_keys)}")


def _set_active(username: str, active: bool) -> None:
    with unit() as session:
        organization.update_user(
            session,
            actor=None,
            user_id=_user_id(session, username),
            data=UserUpdate(is_active=active),
        )
    out.print(f"{username} is {'enabled' if active else 'disabled'}")


def user_disable(username: str) -> None:
    """Disable a user: no more log-ins, their tokens stop working, their records stay."""
    _set_active(username, False)


def user_enable(username: str) -> None:
    """Enable a disabled user again."""
    _set_active(username, True)


def audit_list(
    user: AsUser,
    table: Annotated[str | None, typer.Option(help="e.g. opportunity")] = None,
    record: Annotated[uuid.UUID | None, typer.Option(help="A record id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 30,
    as_json: JsonOut = False,
) -> None:
    """The audit log, newest first, as the user may read it."""
    with unit(read_only=True) as session:
        rows = audit_service.entries(
            session,
            actor=as_actor(session, user),
            table=table,
            record_id=record,
            actor_id=None,
            limit=limit,
            before=None,
        )
        items = [
            (r.seq, r.at, r.action, r.table_name, r.record_id, r.subject, r.changes) for r in rows
        ]
    if as_json:
        keys = ("seq", "at", "action", "table", "record_id", "subject", "changes")
        print_json([dict(zip(keys, item, strict=True)) for item in items])
        return
    table_out = Table("at", "action", "table", "record", "changes")
    for _, at, action, name, record_id, subject, changes in items:
        shown = ", ".join(f"{k}: {v[0]} → {v[1]}" for k, v in list(changes.items())[:4])
        table_out.add_row(
            f"{at:%Y-%m-%d %H:%M}", action, name or "", str(record_id or subject or ""), shown
        )
    out.print(table_out)
