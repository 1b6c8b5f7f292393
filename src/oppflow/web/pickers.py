"""What a picker shows before any script runs: its current choice, named only if the user may
read it, and the address of the search-and-choose page that comes back to this page.

A choice made on that page comes back in the query (``?account_id=…``) and takes the place of
the record's own value, so the form is sent with it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from jinja2 import pass_context
from jinja2.runtime import Context

from oppflow.lookup import service as lookup_service
from oppflow.lookup.schemas import LookupKind
from oppflow.web import forms
from oppflow.web.context import Page
from oppflow.web.errors import with_query
from oppflow.web.i18n import N_

UNREADABLE = N_("A record you cannot see")


@dataclass(frozen=True)
class PickerState:
    value: str
    label: str
    search_url: str


@pass_context
def picker_state(context: Context, kind: LookupKind, field: str, value: Any) -> PickerState:
    page: Page = context["page"]
    chosen = _chosen_in_query(page, kind, field) or forms.record_id(str(value or ""))
    label = ""
    if chosen is not None:
        found = lookup_service.choices_by_id(page.session, page.actor, kind, [chosen])
        label = found[chosen].label if chosen in found else page.i18n.gettext(UNREADABLE)
    return PickerState(str(chosen or ""), label, _search_url(page, kind, field))


def _chosen_in_query(page: Page, kind: LookupKind, field: str) -> uuid.UUID | None:
    """The record the search-and-choose page sent back, if the user may read it."""
    chosen = forms.record_id(page.request.query_params.get(field))
    if chosen is None:
        return None
    readable = lookup_service.choices_by_id(page.session, page.actor, kind, [chosen])
    return chosen if chosen in readable else None


def _search_url(page: Page, kind: LookupKind, field: str) -> str:
    kept = [(key, item) for key, item in page.request.query_params.multi_items() if key != field]
    back = page.request.url.path + (f"?{urlencode(kept)}" if kept else "")
    return with_query(f"/lookup/{kind}", field=field, back=back)
