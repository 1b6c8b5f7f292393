"""Lookups of imported rows: an account by name or external id, a contact by e-mail or external
id, an owner by
user name or e-mail, found among what the importing user may read (so a record out of their
reach is as unknown as one that does not exist)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping

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
    (called at each batch's end, so the memory stays bounded by the batch). A value that
    names nothing is looked up again on its next row, for a record that an earlier row of
    the batch created, unless the batch was :meth:`prime`-d."""

    def __init__(self, repository: LookupRepository) -> None:
        self.finders: dict[str, Callable[[Collection[str]], dict[str, list[uuid.UUID]]]] = {
            "account_external_id": repository.account_ids_with_external_ids,
            "account_name": repository.account_ids_named_among,
            "contact_external_id": repository.contact_ids_with_external_ids,
            "contact_email": repository.contact_ids_with_emails,
            "owner": repository.user_ids_named_among,
            "opportunity_external_id": repository.opportunity_ids_with_external_ids,
        }
        self.known: dict[tuple[str, str], uuid.UUID] = {}
        self.answers: dict[tuple[str, str], list[uuid.UUID]] = {}
        # (the field filled, the id) of every record found: read through row-level security.
        self.found: set[tuple[str, uuid.UUID]] = set()

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
            ids = self.answers.get(key)
            if ids is None:
                ids = self.finders[field]([text])[text]
            self.known[key] = found = self._only(field, text, ids)
            self.found.add((LOOKUPS.get(field, field), found))
        return self.known[key]

    def prime(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Look up every value of ``rows`` at once, a statement per field and chunk of values
        (two for owners: by user name, by e-mail). Only for rows that create none of the
        records looked up (a batch of opportunities): then an answer, "none" included, holds
        until :meth:`forget`."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for values in rows:
            for field in self.finders:
                text = values.get(field)
                if text is not None and (field, text) not in self.known:
                    wanted[field].add(text)
        for field, texts in wanted.items():
            for text, ids in self.finders[field](texts).items():
                self.answers[(field, text)] = ids

    def opportunity(self, external_id: str) -> uuid.UUID:
        return self.find("opportunity_external_id", external_id)

    def forget(self) -> None:
        self.known.clear()
        self.answers.clear()
        self.found.clear()

    @staticmethod
    def _only(field: str, text: str, ids: list[uuid.UUID]) -> uuid.UUID:
        what = NAMED[field]
        if not ids:
            raise RowRefused(field, text, f"no {what} that you can read")
        if len(ids) > 1:
            raise RowRefused(field, text, f"more than one {what}; give an external id")
        return ids[0]
