"""What the lead pages show: the lead's fields as a form, its process, the qualify dialog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from oppflow.errors import NotFound
from oppflow.leads import service as lead_service
from oppflow.leads.schemas import DisqualifyReason, LeadSource
from oppflow.models import Lead
from oppflow.process import service as process_service
from oppflow.process.fields import PURCHASE_PROCESSES, PURCHASE_TIMEFRAMES
from oppflow.process.schemas import InstanceView
from oppflow.web import access, lookups
from oppflow.web.context import Page
from oppflow.web.i18n import N_, I18n

SOURCE_LABELS = {
    "advertisement": N_("Advertisement"),
    "employee_referral": N_("Employee referral"),
    "external_referral": N_("External referral"),
    "partner": N_("Partner"),
    "public_relations": N_("Public relations"),
    "seminar": N_("Seminar"),
    "trade_show": N_("Trade show"),
    "web": N_("Web"),
    "word_of_mouth": N_("Word of mouth"),
    "other": N_("Other"),
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # text | long | email | money | choice | contact | account | boolean
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False


def fields(i18n: I18n) -> list[Field]:
    """The lead's editable fields, in the order of the form."""
    _ = i18n.gettext
    sources = tuple((key, _(SOURCE_LABELS[key])) for key in get_args(LeadSource))
    return [
        Field("topic", _("Topic"), "text", required=True),
        Field("first_name", _("First name"), "text"),
        Field("last_name", _("Last name"), "text"),
        Field("company_name", _("Company"), "text"),
        Field("email", _("Email"), "email"),
        Field("phone", _("Phone"), "text"),
        Field("estimated_value", _("Estimated revenue"), "money"),
        Field("source", _("Source"), "choice", sources),
        Field("contact_id", _("Existing contact"), "contact"),
        Field("account_id", _("Existing account"), "account"),
        Field(
            "purchase_timeframe",
            _("Purchase timeframe"),
            "choice",
            tuple(lookups.options(PURCHASE_TIMEFRAMES, i18n)),
        ),
        Field("budget_amount", _("Estimated budget"), "money"),
        Field(
            "purchase_process",
            _("Purchase process"),
            "choice",
            tuple(lookups.options(PURCHASE_PROCESSES, i18n)),
        ),
        Field("decision_maker_identified", _("Decision maker identified"), "boolean"),
        Field("description", _("Description"), "long"),
    ]


def kinds(i18n: I18n) -> list[tuple[str, str]]:
    """(name, kind) of the form's fields, as :func:`oppflow.web.forms.field_values` reads them."""
    return [(field.name, field.kind) for field in fields(i18n)]


def context(page: Page, lead: Lead) -> dict[str, Any]:
    """The lead page: its fields, process, duplicates and the dialogs' choices."""
    session, actor, i18n = page.session, page.actor, page.i18n
    duplicates = (
        lead_service.find_duplicates(session, actor=actor, lead=lead)
        if lead.state == "open"
        else []
    )
    return {
        "lead": lead,
        "fields": fields(i18n),
        "access": access.panel(page, "leads", lead),
        "process": _process(page, lead),
        "duplicates": duplicates,
        "duplicate_accounts": [d for d in duplicates if d.table == "account"],
        "duplicate_contacts": [d for d in duplicates if d.table == "contact"],
        "accounts": lookups.accounts(session, actor, [lead.account_id]),
        "contacts": lookups.contacts(session, actor, [lead.contact_id]),
        "names": lookups.user_names(session),
        "disqualify_reasons": [(key, lookups.lead_label(key, i18n)) for key in REASONS],
        "source_label": i18n.gettext(SOURCE_LABELS.get(lead.source or "", lead.source or "")),
    }


def _process(page: Page, lead: Lead) -> InstanceView | None:
    try:
        return process_service.view_lead(
            page.session, actor=page.actor, lead_id=lead.id, language=page.i18n.language
        )
    except NotFound:  # a lead without a process still has a page
        return None


REASONS: tuple[str, ...] = get_args(DisqualifyReason)
