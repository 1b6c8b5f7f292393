"""The organisation: business units (a tree), teams, and changes to users.

Each function checks the actor's privilege on the table it changes; the CLI passes ``actor``
None, the operator's path (shell access to the server).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.clock import utcnow
from oppflow.errors import Conflict, ValidationFailed
from oppflow.models import BusinessUnit, Team, TeamMember, TeamRole, User, UserRole
from oppflow.records import active_user, apply_changes, check_version, stamp_new
from oppflow.security.actor import Actor
from oppflow.security.passwords import hash_password
from oppflow.security.repository import (
    BusinessUnitRepository,
    PrivilegeRepository,
    TeamRepository,
    TokenRepository,
    UserRepository,
)
from oppflow.security.roles import known_role
from oppflow.security.schemas import (
    BusinessUnitCreate,
    BusinessUnitUpdate,
    TeamCreate,
    TeamUpdate,
    UserUpdate,
)


def _allow(actor: Actor | None, table: str, action: str) -> None:
    if actor is not None:
        actor.require(table, action)


def create_business_unit(
    session: Session, *, actor: Actor | None, data: BusinessUnitCreate
) -> BusinessUnit:
    """A unit under ``parent_id`` (the organisation's root by default)."""
    _allow(actor, "business_unit", "create")
    units = BusinessUnitRepository(session)
    if units.find_by_name(data.name):
        raise Conflict(f"A business unit is already named {data.name!r}.")
    parent = units.get(data.parent_id) if data.parent_id else units.root()
    unit = BusinessUnit(name=data.name, parent_id=parent.id)
    if actor is not None:
        stamp_new(unit, actor)
    return units.add(unit)


def update_business_unit(
    session: Session,
    *,
    actor: Actor,
    unit_id: uuid.UUID,
    data: BusinessUnitUpdate,
    if_match: int | None = None,
) -> BusinessUnit:
    """Rename or move a unit; a unit cannot move under itself or its descendants."""
    actor.require("business_unit", "write")
    units = BusinessUnitRepository(session)
    unit = units.get(unit_id)
    check_version(unit, if_match)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("parent_id") is not None:
        units.get(changes["parent_id"])
        if changes["parent_id"] in PrivilegeRepository(session).business_unit_tree(unit.id):
            raise ValidationFailed("parent_id: a unit cannot move under itself.")
        if unit.parent_id is None:
            raise ValidationFailed("The organisation's root unit has no parent.")
    apply_changes(unit, changes, actor)
    session.flush()
    return unit


def create_team(session: Session, *, actor: Actor | None, data: TeamCreate) -> Team:
    _allow(actor, "team", "create")
    teams = TeamRepository(session)
    if teams.find_by_name(data.name):
        raise Conflict(f"A team is already named {data.name!r}.")
    units = BusinessUnitRepository(session)
    unit = units.get(data.business_unit_id) if data.business_unit_id else units.root()
    team = Team(name=data.name, business_unit_id=unit.id)
    if actor is not None:
        stamp_new(team, actor)
    _set_members(session, team, data.member_ids)
    _set_team_roles(session, team, data.roles)
    return teams.add(team)


def update_team(
    session: Session,
    *,
    actor: Actor | None,
    team_id: uuid.UUID,
    data: TeamUpdate,
    if_match: int | None = None,
) -> Team:
    _allow(actor, "team", "write")
    team = TeamRepository(session).get(team_id)
    check_version(team, if_match)
    with audit.labelled(session, "role_change" if data.roles is not None else "update"):
        if data.name is not None:
            team.name = data.name
        before = _team_links(team)
        if data.member_ids is not None:
            _set_members(session, team, data.member_ids)
        if data.roles is not None:
            _set_team_roles(session, team, data.roles)
        _audit_links(session, team, before)
        if actor is not None:
            team.modified_by_id = actor.user_id
        _touch(team)
    return team


def _team_links(team: Team) -> dict[str, list[str]]:
    return {
        "member_ids": sorted(str(m.user_id) for m in team.members),
        "roles": sorted(link.role_key for link in team.role_links),
    }


def _audit_links(session: Session, team: Team, before: dict[str, list[str]]) -> None:
    # Members and roles are child rows the flush hook does not see; say what changed here.
    after = _team_links(team)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit.record(
            session,
            "role_change" if "roles" in changes else "update",
            table="teams",
            record_id=team.id,
            changes=changes,
        )


def _touch(record: Team | User) -> None:
    # Membership and roles live in child rows; updating the row bumps its version, which keeps
    # If-Match honest.
    record.modified_at = utcnow()


def _set_members(session: Session, team: Team, member_ids: list[uuid.UUID]) -> None:
    for user_id in member_ids:
        active_user(session, user_id, field="member_ids")
    team.members = [TeamMember(user_id=user_id) for user_id in sorted(set(member_ids))]


def _set_team_roles(session: Session, team: Team, role_keys: list[str]) -> None:
    for key in role_keys:
        known_role(session, key)
    team.role_links = [TeamRole(role_key=key) for key in sorted(set(role_keys))]


def update_user(
    session: Session,
    *,
    actor: Actor | None,
    user_id: uuid.UUID,
    data: UserUpdate,
    if_match: int | None = None,
) -> User:
    """Change a user: profile, business unit, manager, roles, password, or disable them."""
    _allow(actor, "user", "write")
    user = UserRepository(session).get(user_id)
    check_version(user, if_match)
    changes = data.model_dump(exclude_unset=True, exclude={"roles", "password"})
    if changes.get("business_unit_id") is not None:
        BusinessUnitRepository(session).get(changes["business_unit_id"])
    if changes.get("manager_id") is not None:
        _check_manager(session, user, changes["manager_id"])
    if data.password is not None:
        changes["password_hash"] = hash_password(data.password)
    if actor is not None:
        apply_changes(user, changes, actor)
    else:
        for field, value in changes.items():
            setattr(user, field, value)
    if data.roles is not None:
        _set_user_roles(session, user, data.roles)
    session.flush()
    if changes.get("is_active") is False:
        _end_sessions(session, user)
    return user


def _end_sessions(session: Session, user: User) -> None:
    """A disabled user's tokens and web sessions die with the account: enabling it again must
    not bring them back (OWASP session management)."""
    revoked = TokenRepository(session).revoke_all_of(user.id, utcnow())
    if revoked:
        audit.record(
            session, "tokens_revoked", table="users", record_id=user.id, changes={"count": revoked}
        )


def _check_manager(session: Session, user: User, manager_id: uuid.UUID) -> None:
    if manager_id == user.id:
        raise ValidationFailed("manager_id: a user cannot manage themselves.")
    active_user(session, manager_id, field="manager_id")


def _set_user_roles(session: Session, user: User, role_keys: list[str]) -> None:
    for key in role_keys:
        known_role(session, key)
    old = user.role_keys
    new = sorted(set(role_keys))
    if old == new:
        return
    user.role_links = [UserRole(role_key=key) for key in new]
    _touch(user)
    audit.record(
        session, "role_change", table="users", record_id=user.id, changes={"roles": [old, new]}
    )
