"""Roles as data: the built-in ones kept in step with the code, custom ones managed by admins."""

from __future__ import annotations

from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.errors import Conflict, NotFound, ValidationFailed
from oppflow.models import Role, RolePrivilege
from oppflow.records import apply_changes, stamp_new
from oppflow.security.actor import Actor
from oppflow.security.privileges import BUILTIN_ROLES, Depth, Privileges
from oppflow.security.repository import RoleRepository


def ensure_builtin_roles(session: Session) -> None:
    """Create the built-in roles, or reset their privileges to what this release ships."""
    for key, (name, privileges) in BUILTIN_ROLES.items():
        role = RoleRepository(session).find_by_key(key)
        if role is None:
            role = Role(key=key, name=name, is_builtin=True)
            session.add(role)
        _write_privileges(role, privileges)
    session.flush()


def _write_privileges(role: Role, privileges: Privileges) -> None:
    wanted = {key: depth.label for key, depth in privileges.items() if depth > Depth.NONE}
    current = {(p.table_name, p.action): p.depth for p in role.privileges}
    if wanted == current:
        return
    role.privileges = [
        RolePrivilege(table_name=table, action=action, depth=depth)
        for (table, action), depth in sorted(wanted.items())
    ]


def get_role(session: Session, key: str) -> Role:
    role = RoleRepository(session).find_by_key(key)
    if role is None:
        raise NotFound(f"No role {key!r}.")
    return role


def known_role(session: Session, key: str) -> Role:
    """The role with this key, or a 422 naming it (for roles given in a request)."""
    role = RoleRepository(session).find_by_key(key)
    if role is None:
        raise ValidationFailed(f"roles: no role {key!r}.", field="roles")
    return role


def list_roles(session: Session) -> list[Role]:
    return RoleRepository(session).list()


def create_role(
    session: Session, *, actor: Actor | None, key: str, name: str, privileges: Privileges
) -> Role:
    """A custom role; ``actor`` None is the CLI's operator path."""
    if actor is not None:
        actor.require("role", "create")
    if RoleRepository(session).find_by_key(key) is not None:
        raise Conflict(f"The role key {key!r} is taken.")
    role = Role(key=key, name=name, is_builtin=False)
    if actor is not None:
        stamp_new(role, actor)
    session.add(role)
    _write_privileges(role, privileges)
    session.flush()
    return role


def copy_role(
    session: Session, *, actor: Actor | None, source_key: str, key: str, name: str
) -> Role:
    """A custom role with the privileges of ``source_key`` (built-in or not), to edit from."""
    source = get_role(session, source_key)
    privileges = {(p.table_name, p.action): Depth.parse(p.depth) for p in source.privileges}
    return create_role(session, actor=actor, key=key, name=name, privileges=privileges)


def update_role(
    session: Session,
    *,
    actor: Actor | None,
    key: str,
    name: str | None,
    privileges: Privileges | None,
) -> Role:
    """Rename a custom role or replace its privileges; built-in roles are read-only."""
    if actor is not None:
        actor.require("role", "write")
    role = get_role(session, key)
    if role.is_builtin:
        raise Conflict("Built-in roles cannot be changed; create a custom role instead.")
    if name is not None and actor is not None:
        apply_changes(role, {"name": name}, actor)
    elif name is not None:
        role.name = name
    if privileges is not None:
        before = {f"{p.table_name}.{p.action}": p.depth for p in role.privileges}
        _write_privileges(role, privileges)
        after = {f"{p.table_name}.{p.action}": p.depth for p in role.privileges}
        changed = {
            k: [before.get(k), after.get(k)]
            for k in before.keys() | after.keys()
            if before.get(k) != after.get(k)
        }
        if changed:
            audit.record(session, "role_change", table="roles", record_id=role.id, changes=changed)
    session.flush()
    return role
