"""The Access panel of the opportunity, account, contact and lead pages: the owner, who else the
record is shared with and with which rights, and the forms to assign, share and revoke (shown
only to whoever the services would let do it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from oppflow.sales import sharing
from oppflow.security.scope import can
from oppflow.web import lookups
from oppflow.web.context import Page
from oppflow.web.i18n import NP_, I18n

# Every right a share may grant, in the order the form lists them.
RIGHTS: tuple[tuple[str, str], ...] = (
    ("read", NP_("right", "Read")),
    ("write", NP_("right", "Write")),
    ("append", NP_("right", "Append")),
    ("assign", NP_("right", "Assign")),
    ("share", NP_("right", "Share")),
    ("delete", NP_("right", "Delete")),
)
# Where each owned table's page lives, by its API path.
PAGES = {
    "opportunities": "/opportunities/{id}",
    "accounts": "/accounts/{id}",
    "contacts": "/contacts/{id}",
    "leads": "/leads/{id}",
}


@dataclass(frozen=True)
class Grant:
    """What one user or team may do on the record through shares."""

    principal_type: str
    principal_id: uuid.UUID
    name: str
    rights: list[str]


@dataclass(frozen=True)
class AccessPanel:
    things: str
    record_id: uuid.UUID
    version: int
    owner: str
    can_assign: bool
    can_share: bool
    grants: list[Grant]
    teams: list[tuple[uuid.UUID, str]]
    rights: list[tuple[str, str]]


def page_of(things: str, record_id: uuid.UUID) -> str:
    return PAGES[things].format(id=record_id) + "#access"


def panel(page: Page, things: str, record: Any) -> AccessPanel:
    """The panel of ``record`` (already read through its repository) for the page's user."""
    session, actor = page.session, page.actor
    shares = sharing.list_shares(session, actor=actor, things=things, record_id=record.id)
    users = lookups.user_names(session)
    teams = lookups.team_names(session)
    rights_of: dict[tuple[str, uuid.UUID], list[str]] = {}
    for share in shares:
        rights_of.setdefault((share.principal_type, share.principal_id), []).append(share.action)
    order = [key for key, _ in RIGHTS]
    grants = [
        Grant(kind, key, (users if kind == "user" else teams).get(key, "—"), _ordered(found, order))
        for (kind, key), found in rights_of.items()
    ]
    can_share = can(session, actor, "share", record)
    return AccessPanel(
        things=things,
        record_id=record.id,
        version=record.version,
        owner=users.get(record.owner_id, "—"),
        can_assign=can(session, actor, "assign", record),
        can_share=can_share,
        grants=sorted(grants, key=lambda grant: grant.name.lower()),
        teams=sorted(teams.items(), key=lambda pair: pair[1].lower()) if can_share else [],
        rights=[(key, page.i18n.pgettext("right", label)) for key, label in RIGHTS],
    )


def right_label(right: str, i18n: I18n) -> str:
    label = dict(RIGHTS).get(right)
    return i18n.pgettext("right", label) if label else right


def _ordered(rights: list[str], order: list[str]) -> list[str]:
    return sorted(rights, key=lambda right: order.index(right) if right in order else len(order))
