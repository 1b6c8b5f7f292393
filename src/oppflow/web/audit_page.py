"""The audit log page: every change the reader's audit depth covers, newest first, each a group
of fields in words (``web/history.py``), with a link to the record's page (which applies its own
row-level security: the link names no record)."""

from __future__ import annotations

from dataclasses import dataclass

from oppflow.models import AuditEntry
from oppflow.security import audit_service
from oppflow.web.context import Page
from oppflow.web.history import Describer, HistoryRow
from oppflow.web.i18n import N_

PAGE_SIZE = 50
RECORD_PAGES = {
    "opportunities": "/opportunities/",
    "accounts": "/accounts/",
    "contacts": "/contacts/",
    "leads": "/leads/",
    "competitors": "/competitors/",
    "users": "/admin/users/",
    "teams": "/admin/teams/",
}
TABLE_LABELS = {
    "opportunities": N_("Opportunity"),
    "accounts": N_("Account"),
    "contacts": N_("Contact"),
    "leads": N_("Lead"),
    "competitors": N_("Competitor"),
    "users": N_("User"),
    "teams": N_("Team"),
    "roles": N_("Role"),
    "business_units": N_("Business unit"),
    "processes": N_("Process"),
}


@dataclass(frozen=True)
class AuditRow:
    seq: int
    what: str
    href: str | None
    row: HistoryRow


def rows(page: Page, before: int | None) -> list[AuditRow]:
    """One page of the log the reader may read (PermissionDenied, a 403, for no audit right)."""
    entries = audit_service.entries(
        page.session,
        actor=page.actor,
        table=None,
        record_id=None,
        actor_id=None,
        limit=PAGE_SIZE,
        before=before,
    )
    describer = Describer(page.session, page.actor, page.i18n, "USD")
    describer.resolve(entry.changes for entry in entries)
    found = []
    for entry in entries:
        described = describer.row(entry, keep_process_columns=True)
        if described is not None:
            found.append(AuditRow(entry.seq, _what(entry, page), _href(entry), described))
    return found


def _what(entry: AuditEntry, page: Page) -> str:
    label = TABLE_LABELS.get(entry.table_name or "")
    return page.i18n.gettext(label) if label else (entry.table_name or "")


def _href(entry: AuditEntry) -> str | None:
    prefix = RECORD_PAGES.get(entry.table_name or "")
    return f"{prefix}{entry.record_id}" if prefix and entry.record_id else None
