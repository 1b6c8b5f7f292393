"""Names and choices the pages show: users, names of readable records, option labels.

Record names come from :mod:`oppflow.lookup`, so a page names only the records the user may read;
pickers search as the user types (``web/pickers.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from oppflow.lookup import service as lookup_service
from oppflow.lookup.schemas import LookupKind
from oppflow.models import Contact
from oppflow.process import catalog
from oppflow.process.fields import PURCHASE_PROCESSES, PURCHASE_TIMEFRAMES, RATINGS
from oppflow.security.actor import Actor
from oppflow.security.repository import TeamRepository, UserRepository, list_business_units
from oppflow.web.i18n import N_, NP_, I18n


@dataclass(frozen=True)
class StageName:
    """How a stage is shown: its name, its process's name, and its place for sorting."""

    name: str
    process: str
    order: tuple[int, int]


CHOICE_LABELS: dict[str, str] = {
    "immediate": N_("Immediate"),
    "this_quarter": N_("This quarter"),
    "next_quarter": N_("Next quarter"),
    "this_year": N_("This year"),
    "unknown": N_("Unknown"),
    "individual": N_("Individual"),
    "committee": N_("Committee"),
    "hot": N_("Hot"),
    "warm": N_("Warm"),
    "cold": N_("Cold"),
    "pipeline": N_("Pipeline"),
    "best_case": N_("Best case"),
    "committed": N_("Committed"),
    "omitted": N_("Omitted"),
    "won": N_("Won"),
    "lost": N_("Lost"),
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "on_hold": N_("On hold"),
    "canceled": N_("Canceled"),
    "out_sold": N_("Out-sold"),
}
# Lead states and reasons take the "lead" context: in French a lead is masculine.
LEAD_LABELS: dict[str, str] = {
    "open": NP_("lead", "Open"),
    "qualified": NP_("lead", "Qualified"),
    "disqualified": NP_("lead", "Disqualified"),
    "new": NP_("lead", "New"),
    "contacted": NP_("lead", "Contacted"),
    "lost": NP_("lead", "Lost"),
    "cannot_contact": NP_("lead", "Cannot contact"),
    "no_longer_interested": NP_("lead", "No longer interested"),
    "canceled": NP_("lead", "Canceled"),
}
CATEGORY_LABELS: dict[str, str] = {
    "qualify": N_("Qualify"),
    "develop": N_("Develop"),
    "propose": N_("Propose"),
    "close": N_("Close"),
    "identify": N_("Identify"),
    "research": N_("Research"),
    "resolve": N_("Resolve"),
    "approval": N_("Approval"),
}
ROLE_LABELS: dict[str, str] = {
    "stakeholder": N_("Stakeholder"),
    "champion": N_("Champion"),
    "decision_maker": N_("Decision maker"),
    "end_user": N_("End user"),
    "economic_buyer": N_("Economic buyer"),
    "influencer": N_("Influencer"),
    "technical_buyer": N_("Technical buyer"),
    "sales_team_member": N_("Sales team member"),
    "account_manager": N_("Account manager"),
    "delivery_professional": N_("Delivery professional"),
    "technical_sales_professional": N_("Technical sales professional"),
    "industry_expert": N_("Industry expert"),
    "territory_manager": N_("Territory manager"),
    "service_professional": N_("Service professional"),
}
FORECAST_CATEGORIES = ("pipeline", "best_case", "committed", "omitted")
CHOICES: dict[str, tuple[str, ...]] = {
    "purchase_timeframe": PURCHASE_TIMEFRAMES,
    "purchase_process": PURCHASE_PROCESSES,
    "rating": RATINGS,
    "forecast_category": FORECAST_CATEGORIES,
}


def choice_label(value: str | None, i18n: I18n) -> str:
    if value is None:
        return ""
    return i18n.gettext(CHOICE_LABELS[value]) if value in CHOICE_LABELS else value


def lead_label(value: str, i18n: I18n) -> str:
    return i18n.pgettext("lead", LEAD_LABELS[value]) if value in LEAD_LABELS else value


def role_label(value: str, i18n: I18n) -> str:
    return i18n.gettext(ROLE_LABELS[value]) if value in ROLE_LABELS else value


def options(values: tuple[str, ...], i18n: I18n) -> list[tuple[str, str]]:
    return [(value, choice_label(value, i18n)) for value in values]


def phase_label(phase: str | None, i18n: I18n) -> str:
    """``2-Develop`` → "Develop" / "Développer"."""
    if not phase:
        return i18n.gettext("No phase")
    category = phase.partition("-")[2].lower()
    return i18n.gettext(CATEGORY_LABELS.get(category, phase))


def phase_number(phase: str | None) -> int:
    """The order of a phase (``2-Develop`` → 2), for colours; 8 when unknown."""
    head = (phase or "").partition("-")[0]
    return int(head) if head.isdigit() and 1 <= int(head) <= 8 else 8


def user_names(session: Session) -> dict[uuid.UUID, str]:
    return {user.id: user.full_name for user in UserRepository(session).list()}


def team_names(session: Session) -> dict[uuid.UUID, str]:
    return {team.id: team.name for team in TeamRepository(session).list()}


def active_users(session: Session) -> list[tuple[uuid.UUID, str]]:
    users = [user for user in UserRepository(session).list() if user.is_active]
    return sorted(((user.id, user.full_name) for user in users), key=lambda pair: pair[1].lower())


def business_units(session: Session) -> list[tuple[uuid.UUID, str]]:
    return [(unit.id, unit.name) for unit in list_business_units(session)]


def accounts(
    session: Session, actor: Actor, ids: Iterable[uuid.UUID | None]
) -> list[tuple[uuid.UUID, str]]:
    """The names of the readable accounts among ``ids`` (the ones a page shows)."""
    return _named(session, actor, "account", ids)


def contacts(
    session: Session, actor: Actor, ids: Iterable[uuid.UUID | None]
) -> list[tuple[uuid.UUID, str]]:
    return _named(session, actor, "contact", ids)


def _named(
    session: Session, actor: Actor, kind: LookupKind, ids: Iterable[uuid.UUID | None]
) -> list[tuple[uuid.UUID, str]]:
    wanted = [key for key in ids if key is not None]
    found = lookup_service.choices_by_id(session, actor, kind, wanted)
    return [(key, choice.label) for key, choice in found.items()]


def contact_name(contact: Contact) -> str:
    return lookup_service.contact_name(contact)


def opportunity_processes(session: Session, i18n: I18n) -> list[tuple[str, str]]:
    """Active processes a new opportunity may start on, in display order."""
    found = []
    for process in catalog.list_processes(session, table="opportunity"):
        if process.is_active:
            found.append((process.key, catalog.current_definition(session, process)))
    return [(key, definition.name.get(i18n.language)) for key, definition in found]


def pipeline_processes(session: Session, i18n: I18n) -> list[tuple[str, str]]:
    """Every process with a stage on opportunities (the lead's process carries its
    opportunities on), active or not, in display order: what the reports can filter on."""
    found = []
    for process in catalog.list_processes(session):
        definition = catalog.current_definition(session, process)
        if any(stage.table == "opportunity" for stage in definition.stages):
            found.append((process.key, definition.name.get(i18n.language)))
    return found


def stage_names(session: Session, i18n: I18n) -> dict[tuple[str, str], StageName]:
    """Every stage of every process's current definition, by (process key, stage key), with
    its name, its process's name and its place (processes in display order)."""
    found: dict[tuple[str, str], StageName] = {}
    for place, process in enumerate(catalog.list_processes(session)):
        definition = catalog.current_definition(session, process)
        process_name = definition.name.get(i18n.language)
        for index, stage in enumerate(definition.stages):
            found[(definition.key, stage.key)] = StageName(
                stage.name.get(i18n.language), process_name, (place, index)
            )
    return found


def name_of(rows: list[tuple[uuid.UUID, str]], record_id: Any) -> str:
    return next((name for key, name in rows if key == record_id), "")
