"""The privilege grid of the role pages, as Dynamics shows it: a row per table, a column per
action, a depth in each cell; and reading it back from the posted form."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData

from oppflow.errors import ValidationFailed
from oppflow.models import Role
from oppflow.security.privileges import ACTIONS, TABLES, Depth, Privileges
from oppflow.web.i18n import N_, NP_, I18n

TABLE_LABELS = {
    "account": N_("Accounts"),
    "contact": N_("Contacts"),
    "lead": N_("Leads"),
    "opportunity": N_("Opportunities"),
    "quote": N_("Quotes"),
    "competitor": N_("Competitors"),
    "file": N_("Files"),
    "product": N_("Products"),
    "price_list": N_("Price lists"),
    "process": N_("Processes"),
    "user": N_("Users"),
    "role": N_("Roles"),
    "business_unit": N_("Business units"),
    "team": N_("Teams"),
    "audit": N_("Audit log"),
}
DEPTH_LABELS = {
    Depth.NONE: N_("None"),
    Depth.USER: N_("User"),
    Depth.BUSINESS_UNIT: N_("Business unit"),
    Depth.PARENT_CHILD: N_("Parent: child business units"),
    Depth.ORGANIZATION: N_("Organization"),
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


@dataclass(frozen=True)
class Grid:
    tables: list[tuple[str, str]]
    actions: list[tuple[str, str]]
    depths: list[tuple[str, str]]
    cells: dict[tuple[str, str], str]


def grid(role: Role | None, i18n: I18n) -> Grid:
    """The grid of ``role`` (empty for a new one), labelled in the reader's language."""
    cells = {(p.table_name, p.action): p.depth for p in role.privileges} if role else {}
    return Grid(
        tables=[(table, i18n.gettext(TABLE_LABELS[table])) for table in TABLES],
        actions=[(action, i18n.pgettext("right", ACTION_LABELS[action])) for action in ACTIONS],
        depths=[(depth.label, i18n.gettext(DEPTH_LABELS[depth])) for depth in Depth],
        cells=cells,
    )


def privileges_from(form: FormData) -> Privileges:
    """The depth chosen in each cell (``p.<table>.<action>``); an unknown depth is refused."""
    found: Privileges = {}
    for table in TABLES:
        for action in ACTIONS:
            value = form.get(f"p.{table}.{action}")
            if not isinstance(value, str) or not value:
                continue
            try:
                found[(table, action)] = Depth.parse(value)
            except ValueError:
                raise ValidationFailed(f"{table}.{action}: unknown depth.", field=table) from None
    return found
