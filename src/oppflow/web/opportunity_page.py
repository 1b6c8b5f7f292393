"""What the opportunity page shows: header, process bar, dialogs and the selected tab."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from oppflow.clock import today
from oppflow.models import Opportunity
from oppflow.process import catalog
from oppflow.process import service as process_service
from oppflow.process.schemas import InstanceView
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.scope import can
from oppflow.web import access, history, lookups, process_bar, quotes_page, related_tabs
from oppflow.web.context import Page
from oppflow.web.i18n import N_, I18n

TABS: tuple[tuple[str, str], ...] = (
    ("history", N_("History")),
    ("products", N_("Products")),
    ("quotes", N_("Quotes")),
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
        "access": access.panel(page, "opportunities", opportunity),
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
        return history.history(page.session, page.actor, opportunity, page.i18n)
    if tab == "products":
        return quotes_page.products_tab(page, opportunity)
    if tab == "quotes":
        return quotes_page.quotes_tab(page, opportunity)
    return related_tabs.data(page, opportunity, tab)
