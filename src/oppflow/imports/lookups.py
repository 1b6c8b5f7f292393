"""Lookups of imported rows: an account by name or external id, a contact by e-mail or external
id, an owner by
user name or e-mail, found among what the importing user may read (so a record out of their
reach is as unknown as one that does not exist)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from oppflow.imports.rows import RowRefused
from oppflow.lookup.repository import LookupRepository

# file field -> the API field it fills; the external id comes first so that it decides when a
# row gives both an account's external id and its name.
LOOKUPS: dict[str, str] = {
    "account_external_id": "account_id",
    "account_name": "account_id",
    "contact_external_id": "contact_id",
    "contact_email": "contact_id",
    "owner": "owner_id",
}
# What a lookup's value names, for the report.
NAMED = {
    "account_external_id": "account with that external id",
    "account_name": "account with that name",
    "contact_external_id": "contact with that external id",
    "contact_email": "contact with that e-mail",
    "owner": "active user with that user name or e-mail",
    "opportunity_external_id": "opportunity with that external id",
}


class Lookups:
    """Resolves a row's lookup fields into ids; remembers answers until :meth:`forget`
    (called at each batch's end, so the memory stays bounded by the batch)."""

    def __init__(self, repository: LookupRepository) -> None:
        self.finders: dict[str, Callable[[str], list[uuid.UUID]]] = {
            "account_external_id": repository.account_ids_with_external_id,
            "account_name": repository.account_ids_named,
            "contact_external_id": repository.contact_ids_with_external_id,
            "contact_email": repository.contact_ids_with_email,
            "owner": repository.user_ids_named,
            "opportunity_external_id": repository.opportunity_ids_with_external_id,
        }
        self.known: dict[tuple[str, str], uuid.UUID] = {}

    def resolve(self, values: dict[str, str]) -> dict[str, object]:
        """``values`` with each lookup field replaced by the id it names."""
        resolved: dict[str, object] = dict(values)
        for field, target in LOOKUPS.items():
            text = values.get(field)
            resolved.pop(field, None)
            if text is not None and target not in resolved:
                resolved[target] = self.find(field, text)
        return resolved

    def find(self, field: str, text: str) -> uuid.UUID:
        key = (field, text)
        if key not in self.known:
            self.known[key] = self._only(field, text, self.finders[field](text))
        return self.known[key]

    def opportunity(self, external_id: str) -> uuid.UUID:
        return self.find("opportunity_external_id", external_id)

    def forget(self) -> None:
        self.known.clear()

    @staticmethod
    def _only(field: str, text: str, ids: list[uuid.UUID]) -> uuid.UUID:
        what = NAMED[field]
        if not ids:
            raise RowRefused(field, text, f"no {what} that you can read")
        if len(ids) > 1:
            raise RowRefused(field, text, f"more than one {what}; give an external id")
        return ids[0]
