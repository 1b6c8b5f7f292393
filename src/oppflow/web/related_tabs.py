"""The opportunity's related records as tabs: stakeholders, sales team, competitors, files and
notes, read through the services of ``oppflow.related``."""

from __future__ import annotations

from typing import Any, get_args

from oppflow.models import Opportunity
from oppflow.related import files
from oppflow.related import service as related
from oppflow.related.schemas import SalesTeamRole, StakeholderRole
from oppflow.web import lookups
from oppflow.web.context import Page
from oppflow.web.lookups import ROLE_LABELS

STAKEHOLDER_ROLES: tuple[str, ...] = get_args(StakeholderRole)
SALES_TEAM_ROLES: tuple[str, ...] = get_args(SalesTeamRole)


def role_options(roles: tuple[str, ...], page: Page) -> list[tuple[str, str]]:
    return [(role, page.i18n.gettext(ROLE_LABELS[role])) for role in roles]


def data(page: Page, opportunity: Opportunity, tab: str) -> dict[str, Any]:
    """What the tab lists, and the choices of its add form."""
    loaders = {
        "stakeholders": _stakeholders,
        "sales-team": _sales_team,
        "competitors": _competitors,
        "files": _files,
        "notes": _notes,
    }
    return loaders[tab](page, opportunity) if tab in loaders else {}


def _stakeholders(page: Page, opportunity: Opportunity) -> dict[str, Any]:
    rows = related.list_stakeholders(page.session, actor=page.actor, opportunity_id=opportunity.id)
    return {"rows": rows, "roles": role_options(STAKEHOLDER_ROLES, page)}


def _sales_team(page: Page, opportunity: Opportunity) -> dict[str, Any]:
    rows = related.list_sales_team(page.session, actor=page.actor, opportunity_id=opportunity.id)
    return {
        "rows": rows,
        "roles": role_options(SALES_TEAM_ROLES, page),
    }


def _competitors(page: Page, opportunity: Opportunity) -> dict[str, Any]:
    rows = related.list_competitors(page.session, actor=page.actor, opportunity_id=opportunity.id)
    return {"rows": rows}


def _files(page: Page, opportunity: Opportunity) -> dict[str, Any]:
    rows = files.list_files(page.session, actor=page.actor, opportunity_id=opportunity.id)
    return {"rows": rows, "names": lookups.user_names(page.session)}


def _notes(page: Page, opportunity: Opportunity) -> dict[str, Any]:
    rows = related.list_notes(page.session, actor=page.actor, opportunity_id=opportunity.id)
    return {"rows": sorted(rows, key=lambda note: note.at, reverse=True)}
