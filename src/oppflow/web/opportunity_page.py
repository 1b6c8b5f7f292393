"""What the opportunity page shows: header, process bar, dialogs and the selected tab."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from oppflow.clock import today
from oppflow.errors import PermissionDenied
from oppflow.models import Opportunity
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.process.schemas import InstanceView
from oppflow.sales.repository import OpportunityRepository
from oppflow.security import audit_service
from oppflow.security.actor import Actor
from oppflow.security.privileges import Depth
from oppflow.security.scope import can
from oppflow.web import lookups, process_bar, related_tabs
from oppflow.web.context import Page
from oppflow.web.i18n import N_, I18n

TABS: tuple[tuple[str, str], ...] = (
    ("history", N_("History")),
    ("stakeholders", N_("Stakeholders")),
    ("sales-team", N_("Sales team")),
    ("competitors", N_("Competitors")),
    ("files", N_("Files")),
    ("notes", N_("Notes")),
)


@dataclass(frozen=True)
class SwitchChoice:
    key: str
    name: str
    status: str
    stage: str
    current: bool


def context(
    page: Page, opportunity_id: uuid.UUID, *, stage: str | None, missing: list[str], tab: str
) -> dict[str, Any]:
    """Everything the template needs; NotFound (404) when the user may not read the record."""
    session, actor, i18n = page.session, page.actor, page.i18n
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    view = process_service.view(
        session, actor=actor, opportunity_id=opportunity_id, language=i18n.language
    )
    can_write = can(session, actor, "write", opportunity)
    bar = process_bar.build(
        view, opportunity, i18n, selected=stage, missing=missing, can_write=can_write
    )
    tab = tab if tab in dict(TABS) else "history"
    return {
        "o": opportunity,
        "bar": bar,
        "can_write": can_write,
        "names": lookups.user_names(session),
        "accounts": lookups.accounts(session, actor, [opportunity.account_id]),
        "contacts": [],
        "switch_choices": switch_choices(session, view, i18n),
        "tabs": TABS,
        "tab": tab,
        "tab_data": _tab_data(page, opportunity, view, tab),
        "today": today(),
        "forecast_options": lookups.options(lookups.FORECAST_CATEGORIES, i18n),
        "rating_options": lookups.options(lookups.CHOICES["rating"], i18n),
    }


def switch_choices(session: Session, view: InstanceView, i18n: I18n) -> list[SwitchChoice]:
    """Every process the opportunity may switch to, with where its instance stands."""
    running = {other.process.key: other for other in view.instances}
    choices = [
        SwitchChoice(view.process.key, view.process.name, view.status, view.active_stage.name, True)
    ]
    for process in catalog.list_processes(session):
        if process.key == view.process.key:
            continue
        other = running.get(process.key)
        if other is not None:
            choices.append(
                SwitchChoice(
                    process.key, other.process.name, other.status, other.active_stage.name, False
                )
            )
        elif process.is_active and process.primary_table == "opportunity":
            name = catalog.current_definition(session, process).name.get(i18n.language)
            choices.append(SwitchChoice(process.key, name, "new", "", False))
    return choices


def _tab_data(page: Page, opportunity: Opportunity, view: InstanceView, tab: str) -> Any:
    if tab == "history":
        return history(page.session, page.actor, opportunity, page.i18n)
    return related_tabs.data(page, opportunity, tab)


@dataclass(frozen=True)
class HistoryRow:
    at: Any
    kind: str
    by: str
    text: str
    changes: list[tuple[str, Any, Any]]


def history(
    session: Session, actor: Actor, opportunity: Opportunity, i18n: I18n
) -> list[HistoryRow]:
    """Stage moves and the audit rows the user may read, newest first."""
    names = lookups.user_names(session)
    stages = stage_names(session, i18n.language)
    rows = [
        HistoryRow(
            at=row.at,
            kind="stage",
            by=names.get(row.by_id, "") if row.by_id else "",
            text=_move_text(row, stages, i18n),
            changes=[],
        )
        for row in process_service.history(session, actor=actor, opportunity_id=opportunity.id)
    ]
    rows.extend(_audit_rows(session, actor, opportunity, names, i18n))
    return sorted(rows, key=lambda row: row.at, reverse=True)


def stage_names(session: Session, language: str) -> dict[tuple[str, str], str]:
    """(process key, stage key) → stage name, over every process."""
    found: dict[tuple[str, str], str] = {}
    for process in catalog.list_processes(session):
        for stage in catalog.current_definition(session, process).stages:
            found[(process.key, stage.key)] = stage.name.get(language)
    return found


MOVE_TEXTS = {
    "start": N_("Started on %(to)s"),
    "next": N_("Moved from %(from)s to %(to)s"),
    "previous": N_("Moved back from %(from)s to %(to)s"),
    "set_active": N_("Set %(to)s active (was %(from)s)"),
    "finish": N_("Finished the process on %(to)s"),
    "abandon": N_("Abandoned the process on %(to)s"),
    "reactivate": N_("Reactivated the process on %(to)s"),
    "switch": N_("Switched process, now on %(to)s"),
}


def _move_text(row: Any, stages: dict[tuple[str, str], str], i18n: I18n) -> str:
    template = MOVE_TEXTS.get(row.kind, N_("Moved to %(to)s"))
    names = {
        "from": stages.get((row.process_key, row.from_stage or ""), row.from_stage or ""),
        "to": stages.get((row.process_key, row.to_stage), row.to_stage),
    }
    return i18n.gettext(template) % names


# Written by every stage move; the stage history says it better.
PROCESS_COLUMNS = frozenset(
    {"active_stage", "pipeline_phase", "process_key", "owning_business_unit_id"}
)
AUDIT_TEXTS = {
    "create": N_("Created the opportunity"),
    "update": N_("Changed fields"),
    "stage_move": N_("Stage move"),
    "assign": N_("Assigned to another owner"),
    "share": N_("Shared the opportunity"),
    "unshare": N_("Stopped sharing"),
    "close": N_("Closed the opportunity"),
    "reopen": N_("Reopened the opportunity"),
    "add_stakeholder": N_("Added a stakeholder"),
    "change_stakeholder": N_("Changed a stakeholder's role"),
    "remove_stakeholder": N_("Removed a stakeholder"),
    "add_sales_team_member": N_("Added a sales team member"),
    "change_sales_team_member": N_("Changed a sales team member's role"),
    "remove_sales_team_member": N_("Removed a sales team member"),
    "add_competitor": N_("Added a competitor"),
    "remove_competitor": N_("Removed a competitor"),
    "add_note": N_("Added a note"),
    "delete_note": N_("Deleted a note"),
    "upload_file": N_("Attached a file"),
    "delete_file": N_("Deleted a file"),
}


def _audit_rows(
    session: Session,
    actor: Actor,
    opportunity: Opportunity,
    names: dict[uuid.UUID, str],
    i18n: I18n,
) -> list[HistoryRow]:
    if actor.depth("audit", "read") == Depth.NONE:
        return []
    try:
        entries = audit_service.entries(
            session,
            actor=actor,
            table="opportunity",
            record_id=opportunity.id,
            actor_id=None,
            limit=100,
            before=None,
        )
    except PermissionDenied:
        return []
    rows = [_audit_row(entry, names, i18n) for entry in entries]
    return [row for row in rows if row is not None]


def _audit_row(entry: Any, names: dict[uuid.UUID, str], i18n: I18n) -> HistoryRow | None:
    changes = [
        (key, *_pair(value))
        for key, value in sorted(entry.changes.items())
        if key not in PROCESS_COLUMNS
    ]
    if entry.changes and not changes:
        return None  # a stage move, already listed from the stage history
    by = names.get(entry.actor_id, "") if entry.actor_id else ""
    text = i18n.gettext(AUDIT_TEXTS.get(entry.action, entry.action))
    return HistoryRow(at=entry.at, kind="audit", by=by, text=text, changes=changes[:20])


def _pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    return None, value
