"""The History tab in words: stage moves and audited changes, each change a group of fields named
in the reader's language, options by their labels, records by their names.

A referenced record is named (and linked) only when the reader may read it, through the lookup
service's row-level security; otherwise it is "a record you cannot see", so no label tells what
the reader's privileges hide.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from oppflow.errors import PermissionDenied
from oppflow.lookup import service as lookup_service
from oppflow.lookup.schemas import LookupKind
from oppflow.models import Opportunity
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.process.fields import STEP_FIELDS
from oppflow.security import audit_service
from oppflow.security.actor import Actor
from oppflow.security.privileges import Depth
from oppflow.web import lookups
from oppflow.web.i18n import N_, NP_, I18n
from oppflow.web.pickers import UNREADABLE


@dataclass(frozen=True)
class Shown:
    """A value as the reader sees it, with a link when it names a record they may open."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class Change:
    label: str
    old: Shown
    new: Shown


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    kind: str
    by: str
    text: str
    changes: list[Change] = field(default_factory=list)


# Fields the steps of a process do not name (their labels come from the process definitions).
FIELD_LABELS = {
    "name": N_("Topic"),
    "owner_id": N_("Owner"),
    "account_id": N_("Account"),
    "contact_id": N_("Contact"),
    "competitor_id": N_("Competitor"),
    "user_id": N_("User"),
    "role": N_("Role"),
    "estimated_value": N_("Estimated revenue"),
    "estimated_close_date": N_("Estimated close date"),
    "probability": N_("Probability"),
    "forecast_category": N_("Forecast category"),
    "rating": N_("Rating"),
    "description": N_("Description"),
    "currency": N_("Currency"),
    "state": N_("Status"),
    "status_reason": N_("Status reason"),
    "actual_value": N_("Actual revenue"),
    "actual_close_date": N_("Actual close date"),
    "originating_lead_id": N_("Originating lead"),
    "principal": N_("Shared with"),
    "actions": N_("Rights"),
}
ACTION_LABELS = {
    "create": NP_("right", "Create"),
    "read": NP_("right", "Read"),
    "write": NP_("right", "Write"),
    "delete": NP_("right", "Delete"),
    "assign": NP_("right", "Assign"),
    "share": NP_("right", "Share"),
    "append": NP_("right", "Append"),
}
# What a referenced id is, and where its page is.
REFERENCES: dict[str, tuple[LookupKind, str | None]] = {
    "account_id": ("account", "/accounts/"),
    "contact_id": ("contact", "/contacts/"),
    "competitor_id": ("competitor", "/competitors/"),
    "owner_id": ("owner", None),
    "user_id": ("owner", None),
}
CHOICE_FIELDS = frozenset(
    {"purchase_timeframe", "purchase_process", "rating", "forecast_category", "state"}
    | {"status_reason"}
)
MONEY_FIELDS = frozenset({"estimated_value", "actual_value", "budget_amount"})
DATE_FIELDS = frozenset({"estimated_close_date", "actual_close_date", "final_decision_date"})
# Written by every stage move; the stage history says it better.
PROCESS_COLUMNS = frozenset(
    {"active_stage", "pipeline_phase", "process_key", "owning_business_unit_id"}
)
MAX_CHANGES = 40
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


def history(
    session: Session, actor: Actor, opportunity: Opportunity, i18n: I18n
) -> list[HistoryRow]:
    """Stage moves and the audit rows the user may read, newest first."""
    names = lookups.user_names(session)
    stages = stage_names(session, i18n.language)
    moves = process_service.history(session, actor=actor, opportunity_id=opportunity.id)
    rows = [
        HistoryRow(
            row.at, "stage", names.get(row.by_id, "") if row.by_id else "", _move(row, stages, i18n)
        )
        for row in moves
    ]
    entries = _audit_entries(session, actor, opportunity)
    describer = Describer(session, actor, i18n, opportunity.currency)
    describer.resolve(entry.changes for entry in entries)
    for entry in entries:
        row = describer.row(entry)
        if row is not None:
            rows.append(row)
    return sorted(rows, key=lambda row: row.at, reverse=True)


def stage_names(session: Session, language: str) -> dict[tuple[str, str], str]:
    """(process key, stage key) → stage name, over every process."""
    found: dict[tuple[str, str], str] = {}
    for process in catalog.list_processes(session):
        for stage in catalog.current_definition(session, process).stages:
            found[(process.key, stage.key)] = stage.name.get(language)
    return found


def step_labels(session: Session, language: str) -> dict[str, str]:
    """Field → the label of the first step naming it, over every process."""
    found: dict[str, str] = {}
    for process in catalog.list_processes(session):
        for stage in catalog.current_definition(session, process).stages:
            for step in stage.steps:
                found.setdefault(step.field, step.label.get(language))
    return found


def _move(row: Any, stages: dict[tuple[str, str], str], i18n: I18n) -> str:
    template = MOVE_TEXTS.get(row.kind, N_("Moved to %(to)s"))
    names = {
        "from": stages.get((row.process_key, row.from_stage or ""), row.from_stage or ""),
        "to": stages.get((row.process_key, row.to_stage), row.to_stage),
    }
    return i18n.gettext(template) % names


def _audit_entries(session: Session, actor: Actor, opportunity: Opportunity) -> list[Any]:
    if actor.depth("audit", "read") == Depth.NONE:
        return []
    try:
        return audit_service.entries(
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


class Describer:
    """Turns audited changes into labelled, readable values; references are resolved once for
    every row, through the reader's row-level security."""

    def __init__(self, session: Session, actor: Actor, i18n: I18n, currency: str) -> None:
        self.session = session
        self.actor = actor
        self.i18n = i18n
        self.currency = currency
        self.labels = step_labels(session, i18n.language)
        self.readable: dict[uuid.UUID, str] = {}
        self.users = lookups.user_names(session)
        self.teams = lookups.team_names(session)

    def resolve(self, changes: Iterable[dict[str, Any]]) -> None:
        wanted: dict[LookupKind, list[uuid.UUID]] = {}
        for change in changes:
            for key, value in (change or {}).items():
                if key in REFERENCES:
                    kind = REFERENCES[key][0]
                    given = (_as_id(item) for item in _pair(value))
                    wanted.setdefault(kind, []).extend(found for found in given if found)
        for kind, ids in wanted.items():
            found = lookup_service.choices_by_id(self.session, self.actor, kind, ids)
            self.readable.update({key: choice.label for key, choice in found.items()})

    def row(self, entry: Any, *, keep_process_columns: bool = False) -> HistoryRow | None:
        hidden = frozenset() if keep_process_columns else PROCESS_COLUMNS
        keys = [key for key in sorted(entry.changes or {}) if key not in hidden]
        if entry.changes and not keys:
            return None  # a stage move, already listed from the stage history
        changes = [self.change(key, (entry.changes or {})[key]) for key in keys[:MAX_CHANGES]]
        by = self.users.get(entry.actor_id, "") if entry.actor_id else ""
        text = self.i18n.gettext(AUDIT_TEXTS.get(entry.action, entry.action))
        return HistoryRow(entry.at, "audit", by, text, changes)

    def change(self, key: str, value: Any) -> Change:
        old, new = _pair(value)
        return Change(self.label(key), self.shown(key, old), self.shown(key, new))

    def label(self, key: str) -> str:
        if key in FIELD_LABELS:
            return self.i18n.gettext(FIELD_LABELS[key])
        return self.labels.get(key, key.replace("_", " ").capitalize())

    def shown(self, key: str, value: Any) -> Shown:
        if value is None or value == "":
            return Shown("—")
        if key in REFERENCES:
            return self._reference(key, value)
        if key == "role":
            return Shown(lookups.role_label(str(value), self.i18n))
        if key == "principal":
            return Shown(self._principal(str(value)))
        if key == "actions" and isinstance(value, list):
            return Shown(", ".join(self._action(str(action)) for action in value))
        if key in CHOICE_FIELDS:
            return Shown(lookups.choice_label(str(value), self.i18n))
        if isinstance(value, bool) or STEP_FIELDS["opportunity"].get(key) == BOOLEAN_SPEC:
            return Shown(self.i18n.gettext("Yes") if value else self.i18n.gettext("No"))
        return Shown(self._formatted(key, value))

    def _principal(self, value: str) -> str:
        """``user:<id>`` or ``team:<id>`` → the user's or team's name (both are public)."""
        kind, _, key = value.partition(":")
        found = _as_id(key)
        names = self.users if kind == "user" else self.teams
        return names.get(found, self.i18n.gettext(UNREADABLE)) if found else value

    def _action(self, action: str) -> str:
        label = ACTION_LABELS.get(action)
        return self.i18n.pgettext("right", label) if label else action

    def _reference(self, key: str, value: Any) -> Shown:
        record_id = _as_id(value)
        name = self.readable.get(record_id) if record_id else None
        if name is None:
            return Shown(self.i18n.gettext(UNREADABLE))
        prefix = REFERENCES[key][1]
        return Shown(name, f"{prefix}{record_id}" if prefix else None)

    def _formatted(self, key: str, value: Any) -> str:
        try:
            if key in MONEY_FIELDS:
                return self.i18n.money(Decimal(str(value)), self.currency)
            if key in DATE_FIELDS:
                return self.i18n.date(date.fromisoformat(str(value)[:10]))
        except (InvalidOperation, ValueError):
            pass
        return str(value)


BOOLEAN_SPEC = STEP_FIELDS["opportunity"]["decision_maker_identified"]


def _pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    return None, value


def _as_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None
