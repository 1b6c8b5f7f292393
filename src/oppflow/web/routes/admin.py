"""Administration: users, teams, business units, roles and processes, on the services the API
and the CLI use (each one checks the administrator's privileges)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import Query
from starlette.datastructures import FormData
from starlette.responses import Response

from oppflow.api.deps import run_unit_in_thread
from oppflow.config import get_settings
from oppflow.errors import ValidationFailed
from oppflow.process import catalog
from oppflow.process.definition import Stage
from oppflow.process.fields import pipeline_phase
from oppflow.process.schemas import ProcessUpdate
from oppflow.security import organization, preferences, roles
from oppflow.security import service as security_service
from oppflow.security.privileges import Depth
from oppflow.security.repository import TeamRepository, UserRepository
from oppflow.security.schemas import (
    BusinessUnitCreate,
    BusinessUnitUpdate,
    RoleCreate,
    RoleUpdate,
    TeamCreate,
    TeamUpdate,
    UserCreate,
    UserUpdate,
)
from oppflow.web import audit_page, forms, lookups, role_grid
from oppflow.web.context import Page, PageDep, web_router
from oppflow.web.errors import refusals
from oppflow.web.forms import FormDep
from oppflow.web.i18n import I18n
from oppflow.web.render import redirect, render
from oppflow.web.routes.opportunity import parse_id

router = web_router()


def _common(page: Page) -> dict[str, Any]:
    return {
        "section": "admin",
        "units": lookups.business_units(page.session),
        "role_keys": [role.key for role in roles.list_roles(page.session)],
        "users": lookups.active_users(page.session),
    }


@router.get("/admin")
async def admin_home(page: PageDep) -> Response:
    """Users, teams and business units at a glance."""
    page.actor.require("user", "read")
    return render(
        page,
        "admin/home.html",
        all_users=UserRepository(page.session).list(),
        teams=TeamRepository(page.session).list(),
        unit_names=dict(lookups.business_units(page.session)),
        **_common(page),
    )


def _user_values(form: FormData, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "full_name": forms.text(form, "full_name"),
        "email": forms.text(form, "email"),
        "business_unit_id": forms.text(form, "business_unit_id"),
        "manager_id": forms.text(form, "manager_id"),
        "roles": [role for role in form.getlist("roles") if isinstance(role, str)],
        "is_active": forms.flag(form, "is_active"),
    }
    if creating:
        values["username"] = forms.text(form, "username")
    if forms.text(form, "password"):
        values["password"] = forms.text(form, "password")
    return values


@router.post("/admin/users")
async def create_user(page: PageDep, form: FormDep) -> Response:
    with refusals(page.i18n, "/admin"):
        data = forms.validated(UserCreate, _user_values(form, creating=True), page.i18n, {})
        # In a thread: the argon2 hash of the password must not hold the event loop.
        await run_unit_in_thread(
            page.request,
            partial(security_service.create_user, actor=page.actor, data=data),
            actor=page.actor,
        )
    return redirect(page, "/admin", page.i18n.gettext("Created."))


@router.get("/admin/users/{user_id}")
async def user_page(page: PageDep, user_id: str) -> Response:
    page.actor.require("user", "read")
    found = UserRepository(page.session).get(parse_id(user_id))
    zones = preferences.time_zones()
    return render(page, "admin/user.html", person=found, zones=zones, **_common(page))


@router.post("/admin/users/{user_id}/time-zone")
async def user_time_zone(page: PageDep, user_id: str, form: FormDep) -> Response:
    """Set a user's time zone (write on users, checked by the service)."""
    record_id = parse_id(user_id)
    back = f"/admin/users/{record_id}"
    with refusals(page.i18n, back):
        values = {"time_zone": forms.text(form, "time_zone")}
        data = forms.validated(preferences.PreferencesUpdate, values, page.i18n, {})
        preferences.set_preferences(page.session, actor=page.actor, user_id=record_id, data=data)
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.post("/admin/users/{user_id}")
async def update_user(page: PageDep, user_id: str, form: FormDep) -> Response:
    record_id = parse_id(user_id)
    back = f"/admin/users/{record_id}"
    with refusals(page.i18n, back):
        data = forms.validated(UserUpdate, _user_values(form, creating=False), page.i18n, {})
        await run_unit_in_thread(
            page.request,
            partial(
                organization.update_user,
                actor=page.actor,
                user_id=record_id,
                data=data,
                if_match=forms.version(form),
            ),
            actor=page.actor,
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


def _team_values(form: FormData) -> dict[str, Any]:
    return {
        "name": forms.text(form, "name"),
        "member_ids": [m for m in form.getlist("member_ids") if isinstance(m, str) and m],
        "roles": [r for r in form.getlist("roles") if isinstance(r, str) and r],
    }


@router.post("/admin/teams")
async def create_team(page: PageDep, form: FormDep) -> Response:
    with refusals(page.i18n, "/admin"):
        values = _team_values(form) | {"business_unit_id": forms.text(form, "business_unit_id")}
        data = forms.validated(TeamCreate, values, page.i18n, {})
        organization.create_team(page.session, actor=page.actor, data=data)
    return redirect(page, "/admin", page.i18n.gettext("Created."))


@router.get("/admin/teams/{team_id}")
async def team_page(page: PageDep, team_id: str) -> Response:
    page.actor.require("team", "read")
    team = TeamRepository(page.session).get(parse_id(team_id))
    return render(page, "admin/team.html", team=team, **_common(page))


@router.post("/admin/teams/{team_id}")
async def update_team(page: PageDep, team_id: str, form: FormDep) -> Response:
    record_id = parse_id(team_id)
    back = f"/admin/teams/{record_id}"
    with refusals(page.i18n, back):
        data = forms.validated(TeamUpdate, _team_values(form), page.i18n, {})
        organization.update_team(
            page.session,
            actor=page.actor,
            team_id=record_id,
            data=data,
            if_match=forms.version(form),
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.post("/admin/business-units")
async def create_unit(page: PageDep, form: FormDep) -> Response:
    with refusals(page.i18n, "/admin"):
        values = {"name": forms.text(form, "name"), "parent_id": forms.text(form, "parent_id")}
        data = forms.validated(BusinessUnitCreate, values, page.i18n, {})
        organization.create_business_unit(page.session, actor=page.actor, data=data)
    return redirect(page, "/admin", page.i18n.gettext("Created."))


@router.post("/admin/business-units/{unit_id}")
async def rename_unit(page: PageDep, unit_id: str, form: FormDep) -> Response:
    with refusals(page.i18n, "/admin"):
        values = {"name": forms.text(form, "name")}
        if forms.text(form, "parent_id"):
            values["parent_id"] = forms.text(form, "parent_id")
        data = forms.validated(BusinessUnitUpdate, values, page.i18n, {})
        organization.update_business_unit(
            page.session, actor=page.actor, unit_id=parse_id(unit_id), data=data
        )
    return redirect(page, "/admin", page.i18n.gettext("Saved."))


@router.get("/admin/roles")
async def role_list(page: PageDep) -> Response:
    """Every role, and the form of a new one (empty or a copy of another)."""
    page.actor.require("role", "read")
    return render(page, "admin/roles.html", roles=roles.list_roles(page.session), **_common(page))


@router.post("/admin/roles")
async def create_role(page: PageDep, form: FormDep) -> Response:
    """A new role, empty or copied from another; its grid is edited next."""
    values = {"key": forms.text(form, "key"), "name": forms.text(form, "name")}
    source = forms.text(form, "copy_from")
    with refusals(page.i18n, "/admin/roles"):
        data = forms.validated(RoleCreate, values, page.i18n, {})
        if source:
            roles.copy_role(
                page.session, actor=page.actor, source_key=source, key=data.key, name=data.name
            )
        else:
            roles.create_role(
                page.session, actor=page.actor, key=data.key, name=data.name, privileges={}
            )
    return redirect(page, f"/admin/roles/{data.key}", page.i18n.gettext("Created."))


@router.get("/admin/roles/{key}")
async def role_page(page: PageDep, key: str) -> Response:
    """The role's privilege grid: editable for a custom role, read-only for a built-in one."""
    page.actor.require("role", "read")
    role = roles.get_role(page.session, key[:64])
    editable = not role.is_builtin and page.actor.depth("role", "write") > Depth.NONE
    return render(
        page,
        "admin/role.html",
        role=role,
        grid=role_grid.grid(role, page.i18n),
        editable=editable,
        **_common(page),
    )


@router.post("/admin/roles/{key}")
async def update_role(page: PageDep, key: str, form: FormDep) -> Response:
    back = f"/admin/roles/{key[:64]}"
    with refusals(page.i18n, back):
        data = forms.validated(RoleUpdate, {"name": forms.text(form, "name")}, page.i18n, {})
        privileges = role_grid.privileges_from(form)
        roles.update_role(
            page.session, actor=page.actor, key=key[:64], name=data.name, privileges=privileges
        )
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.get("/admin/audit")
async def audit_log(
    page: PageDep, before: Annotated[int | None, Query(ge=1, le=2**62)] = None
) -> Response:
    """The audit log the reader's depth covers, newest first, 50 a page."""
    found = audit_page.rows(page, before)
    older = found[-1].seq if len(found) == audit_page.PAGE_SIZE else None
    return render(page, "admin/audit.html", rows=found, older=older, **_common(page))


@router.get("/admin/processes")
async def process_list(page: PageDep) -> Response:
    """The processes in display order, with import and validation."""
    page.actor.require("process", "read")
    processes = catalog.list_processes(page.session)
    summaries = [catalog.summary(page.session, p, page.i18n.language) for p in processes]
    return render(page, "admin/processes.html", processes=summaries, checked=None, **_common(page))


@router.get("/admin/processes/{key}")
async def process_page(page: PageDep, key: str) -> Response:
    """The current definition: its stages with their report defaults, and its YAML."""
    page.actor.require("process", "read")
    process = catalog.get(page.session, key[:64])
    detail = catalog.detail(page.session, process, page.i18n.language)
    definition = catalog.current_definition(page.session, process)
    return render(
        page,
        "admin/process.html",
        process=detail,
        stages=[_stage_row(stage, page.i18n) for stage in definition.stages],
        global_stale_days=get_settings().stale_after_days,
        **_common(page),
    )


@dataclass(frozen=True)
class StageRow:
    """A stage as the process page lists it, with the defaults the reports use."""

    name: str
    table: str
    phase: str
    probability: int | None
    forecast_category: str | None
    stale_after_days: int | None


def _stage_row(stage: Stage, i18n: I18n) -> StageRow:
    return StageRow(
        name=stage.name.get(i18n.language),
        table=stage.table or "",
        phase=pipeline_phase(stage.category),
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        stale_after_days=stage.stale_after_days,
    )


@router.post("/admin/processes/{key}")
async def update_process(page: PageDep, key: str, form: FormDep) -> Response:
    """Activate, deactivate or reorder."""
    back = "/admin/processes"
    with refusals(page.i18n, back):
        values = {
            "is_active": forms.text(form, "is_active"),
            "display_order": forms.text(form, "display_order"),
        }
        data = forms.validated(ProcessUpdate, values, page.i18n, {})
        catalog.update_process(page.session, actor=page.actor, key=key[:64], data=data)
    return redirect(page, back, page.i18n.gettext("Saved."))


@router.post("/admin/processes")
async def import_process(page: PageDep, form: FormDep) -> Response:
    """Validate a YAML definition, or import it (a new process, or a new version)."""
    text = forms.text(form, "yaml") or ""
    back = "/admin/processes"
    if forms.text(form, "action") == "validate":
        return _validated(page, text)
    with refusals(page.i18n, back):
        process = catalog.import_yaml(page.session, actor=page.actor, text=text[:200_000])
    return redirect(page, f"/admin/processes/{process.key}", page.i18n.gettext("Imported."))


def _validated(page: Page, text: str) -> Response:
    page.actor.require("process", "read")
    try:
        definition = catalog.validate_yaml(text[:200_000])
        checked = {
            "ok": True,
            "text": text,
            "message": page.i18n.gettext("Valid: %(key)s, %(count)s stages.")
            % {"key": definition.key, "count": len(definition.stages)},
        }
    except ValidationFailed as error:
        checked = {"ok": False, "text": text, "message": error.detail}
    processes = catalog.list_processes(page.session)
    summaries = [catalog.summary(page.session, p, page.i18n.language) for p in processes]
    return render(
        page, "admin/processes.html", processes=summaries, checked=checked, **_common(page)
    )
