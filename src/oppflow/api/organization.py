"""``/api/v1/business-units``, ``/teams`` and ``/roles``: the organisation, as data."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from oppflow.api.deps import ActorDep, IfMatchDep, SessionDep, set_etag
from oppflow.api.responses import CHANGE, CREATE, problems
from oppflow.models import Role, Team
from oppflow.schemas import NO_NUL
from oppflow.security import organization, roles
from oppflow.security.privileges import Depth, Privileges
from oppflow.security.repository import (
    BusinessUnitRepository,
    TeamRepository,
    list_business_units,
)
from oppflow.security.schemas import (
    BusinessUnitCreate,
    BusinessUnitRead,
    BusinessUnitUpdate,
    PrivilegeTable,
    RoleCreate,
    RoleRead,
    RoleUpdate,
    TeamCreate,
    TeamRead,
    TeamUpdate,
)

business_units = APIRouter(prefix="/business-units", tags=["organisation"])
teams = APIRouter(prefix="/teams", tags=["organisation"])
role_router = APIRouter(prefix="/roles", tags=["organisation"])
RoleKey = Annotated[str, Path(pattern=NO_NUL)]
# Organisation-wide tables: reading needs the table's read privilege (403).
ORGANISATION = problems(401, 403)
READ_ONE = problems(401, 403, 404, 422)
# A (parent) business unit named in the body that does not exist is a 404.
CREATE_IN_UNIT = {**CREATE, **problems(404)}


@business_units.get("", responses=ORGANISATION)
async def list_units(session: SessionDep, actor: ActorDep) -> dict[str, list[BusinessUnitRead]]:
    """Every business unit (the one without a parent is the organisation)."""
    actor.require("business_unit", "read")
    return {"items": [BusinessUnitRead.model_validate(u) for u in list_business_units(session)]}


@business_units.post("", status_code=status.HTTP_201_CREATED, responses=CREATE_IN_UNIT)
async def create_unit(
    session: SessionDep, actor: ActorDep, data: BusinessUnitCreate, response: Response
) -> BusinessUnitRead:
    unit = organization.create_business_unit(session, actor=actor, data=data)
    set_etag(response, unit.version)
    return BusinessUnitRead.model_validate(unit)


@business_units.get("/{unit_id}", responses=READ_ONE)
async def get_unit(
    session: SessionDep, actor: ActorDep, unit_id: uuid.UUID, response: Response
) -> BusinessUnitRead:
    actor.require("business_unit", "read")
    unit = BusinessUnitRepository(session).get(unit_id)
    set_etag(response, unit.version)
    return BusinessUnitRead.model_validate(unit)


@business_units.patch("/{unit_id}", responses=CHANGE)
async def update_unit(
    session: SessionDep,
    actor: ActorDep,
    unit_id: uuid.UUID,
    data: BusinessUnitUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> BusinessUnitRead:
    """Rename a unit or move it under another parent."""
    unit = organization.update_business_unit(
        session, actor=actor, unit_id=unit_id, data=data, if_match=if_match
    )
    set_etag(response, unit.version)
    return BusinessUnitRead.model_validate(unit)


def team_read(team: Team) -> TeamRead:
    return TeamRead(
        id=team.id,
        name=team.name,
        business_unit_id=team.business_unit_id,
        member_ids=[m.user_id for m in team.members],
        roles=[link.role_key for link in team.role_links],
        version=team.version,
    )


@teams.get("", responses=ORGANISATION)
async def list_teams(session: SessionDep, actor: ActorDep) -> dict[str, list[TeamRead]]:
    actor.require("team", "read")
    return {"items": [team_read(t) for t in TeamRepository(session).list()]}


@teams.post("", status_code=status.HTTP_201_CREATED, responses=CREATE_IN_UNIT)
async def create_team(session: SessionDep, actor: ActorDep, data: TeamCreate) -> TeamRead:
    """A team of users; its roles add to each member's own."""
    return team_read(organization.create_team(session, actor=actor, data=data))


@teams.get("/{team_id}", responses=READ_ONE)
async def get_team(session: SessionDep, actor: ActorDep, team_id: uuid.UUID) -> TeamRead:
    actor.require("team", "read")
    return team_read(TeamRepository(session).get(team_id))


@teams.patch("/{team_id}", responses=CHANGE)
async def update_team(
    session: SessionDep,
    actor: ActorDep,
    team_id: uuid.UUID,
    data: TeamUpdate,
    response: Response,
    if_match: IfMatchDep,
) -> TeamRead:
    """Rename a team, or replace its members or roles."""
    team = organization.update_team(
        session, actor=actor, team_id=team_id, data=data, if_match=if_match
    )
    set_etag(response, team.version)
    return team_read(team)


def role_read(role: Role) -> RoleRead:
    table: dict[str, dict[str, str]] = {}
    for privilege in role.privileges:
        table.setdefault(privilege.table_name, {})[privilege.action] = privilege.depth
    return RoleRead(key=role.key, name=role.name, is_builtin=role.is_builtin, privileges=table)


def privileges_of(table: PrivilegeTable) -> Privileges:
    return {
        (name, action): Depth.parse(depth)
        for name, actions in table.items()
        for action, depth in actions.items()
    }


@role_router.get("", responses=ORGANISATION)
async def list_roles(session: SessionDep, actor: ActorDep) -> dict[str, list[RoleRead]]:
    """Every role with its privilege table (table → action → depth)."""
    actor.require("role", "read")
    return {"items": [role_read(r) for r in roles.list_roles(session)]}


@role_router.post("", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def create_role(session: SessionDep, actor: ActorDep, data: RoleCreate) -> RoleRead:
    """A custom role, e.g. ``{"key": "auditor", "name": "Auditor",
    "privileges": {"audit": {"read": "organization"}}}``."""
    role = roles.create_role(
        session,
        actor=actor,
        key=data.key,
        name=data.name,
        privileges=privileges_of(data.privileges),
    )
    return role_read(role)


@role_router.get("/{key}", responses=READ_ONE)
async def get_role(session: SessionDep, actor: ActorDep, key: RoleKey) -> RoleRead:
    actor.require("role", "read")
    return role_read(roles.get_role(session, key))


@role_router.patch("/{key}", responses=problems(400, 401, 403, 404, 409, 422))
async def update_role(
    session: SessionDep, actor: ActorDep, key: RoleKey, data: RoleUpdate
) -> RoleRead:
    """Rename a custom role or replace its privileges (built-in roles are read-only)."""
    privileges = None if data.privileges is None else privileges_of(data.privileges)
    return role_read(
        roles.update_role(session, actor=actor, key=key, name=data.name, privileges=privileges)
    )
