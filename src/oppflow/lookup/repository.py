"""Prefix searches through the record repositories' ``readable()``, so a picker finds only what
the caller may read.

Each term given must start one of the searched columns (case-insensitively). The columns
carry ``lower(column)`` indexes (migration 0007): PostgreSQL reads them with ``LIKE 'abc%'`` on a
``text_pattern_ops`` index, SQLite with the range ``>= 'abc' AND < 'abc\\U0010ffff'`` (SQLite's
LIKE optimisation does not apply to expressions). Results come in index order, so a search reads
no more than ``limit`` rows past its start.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    UnaryExpression,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.operators import custom_op

from oppflow.models import Account, Competitor, Contact, Opportunity, User
from oppflow.sales.repository import (
    AccountRepository,
    CompetitorRepository,
    ContactRepository,
    OpportunityRepository,
)
from oppflow.security.actor import Actor

# Above every character a name holds: 'abc' <= x < 'abc' + LAST_CHAR is "x starts with abc".
LAST_CHAR = "\U0010ffff"
ACCOUNT_REACH = 100
# A contact search reads only its candidates when the first term has at most this many.
CANDIDATES = 1_000
# Values looked up per statement by the lookups of many values (within SQLite's limit on
# bound parameters, with room for row-level security's).
AMONG_CHUNK = 500


def starts_with(column: Any, prefix: str, dialect: str) -> ColumnElement[bool]:
    """``lower(column)`` starts with ``prefix`` (already lower-case), in a form the dialect
    answers from the ``lower(column)`` index."""
    folded = func.lower(column)
    if dialect == "postgresql":
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        condition: ColumnElement[bool] = folded.like(f"{escaped}%", escape="\\")
        return condition
    return and_(folded >= prefix, folded < prefix + LAST_CHAR)


def in_index_order(column: Any, dialect: str) -> ColumnElement[Any]:
    """``lower(column)`` as an ordering its prefix index reads in order, so that a search
    stops at ``limit`` rows instead of sorting every match (100,000 accounts starting with
    "b"): code point order, SQLite's binary collation; on PostgreSQL ``USING ~<~``, the order
    of the ``text_pattern_ops`` index, which a plain ``ORDER BY`` cannot read."""
    folded = func.lower(column)
    if dialect == "postgresql":
        return UnaryExpression(folded, modifier=custom_op("USING ~<~"))
    return folded


class LookupRepository:
    """Searches and names for pickers, scoped to ``actor``."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.dialect = session.get_bind().dialect.name

    def _order(self, column: Any) -> ColumnElement[Any]:
        return in_index_order(column, self.dialect)

    def _matching(self, terms: Sequence[str], *columns: Any) -> list[ColumnElement[bool]]:
        return [
            or_(*(starts_with(column, term, self.dialect) for column in columns)) for term in terms
        ]

    def accounts(self, terms: Sequence[str], limit: int) -> list[Account]:
        query = AccountRepository(self.session, self.actor).readable()
        query = query.where(*self._matching(terms, Account.name))
        return list(self.session.scalars(query.order_by(self._order(Account.name)).limit(limit)))

    def competitors(self, terms: Sequence[str], limit: int) -> list[Competitor]:
        query = CompetitorRepository(self.session, self.actor).readable()
        query = query.where(*self._matching(terms, Competitor.name))
        order = self._order(Competitor.name)
        return list(self.session.scalars(query.order_by(order).limit(limit)))

    def contacts(self, terms: Sequence[str], limit: int) -> list[Contact]:
        """Contacts whose first name, last name, e-mail or (readable) account starts with each
        term ("jane acme" finds Jane of Acme), or whose account starts with all the terms.

        In name order, read from the last name's index and stopping at ``limit``, which is
        fast when matches are many; when the first term's candidates are few (a query that
        matches little), only those are read, rather than every contact in name order."""
        query = ContactRepository(self.session, self.actor).readable()
        order = (self._order(Contact.last_name), self._order(Contact.first_name), Contact.id)
        if not terms:
            return list(self.session.scalars(query.order_by(*order).limit(limit)))
        whole = " ".join(terms)
        reach = {term: self._account_ids_starting(term) for term in dict.fromkeys([*terms, whole])}
        each_term = and_(
            *(
                or_(
                    starts_with(Contact.first_name, term, self.dialect),
                    starts_with(Contact.last_name, term, self.dialect),
                    starts_with(Contact.email, term, self.dialect),
                    Contact.account_id.in_(reach[term]),
                )
                for term in terms
            )
        )
        if len(terms) > 1:
            each_term = or_(each_term, *self._whole_contact_query(whole, terms[0], reach[whole]))
        query = query.where(each_term)
        candidates = self._candidates(terms[0], [*reach[terms[0]], *reach[whole]])
        if candidates is not None:
            query = query.where(Contact.id.in_(candidates))
        return list(self.session.scalars(query.order_by(*order).limit(limit)))

    def _candidates(self, first: str, account_ids: list[uuid.UUID]) -> list[uuid.UUID] | None:
        """The contacts any match is among, when there are at most :data:`CANDIDATES`: a
        first, last name or e-mail starting with the first term (every match has one, or an
        account the first term or the whole query reaches). Ids only, from the indexes, not
        scoped: the search itself applies row-level security. None when there are more."""
        sources = [
            starts_with(Contact.first_name, first, self.dialect),
            starts_with(Contact.last_name, first, self.dialect),
            starts_with(Contact.email, first, self.dialect),
            Contact.account_id.in_(account_ids),
        ]
        found: dict[uuid.UUID, None] = {}
        for source in sources:
            ids = list(self.session.scalars(select(Contact.id).where(source).limit(CANDIDATES + 1)))
            found.update(dict.fromkeys(ids))
            if len(ids) > CANDIDATES or len(found) > CANDIDATES:
                return None
        return list(found)

    def _whole_contact_query(
        self, whole: str, first: str, account_ids: list[uuid.UUID]
    ) -> list[ColumnElement[bool]]:
        """The whole query starting the full name ("mary ann smi", a first name with a space;
        the first term reaches the index) or the account's name ("acme corp")."""
        full_name = func.coalesce(Contact.first_name, "") + " " + Contact.last_name
        return [
            and_(
                starts_with(Contact.first_name, first, self.dialect),
                starts_with(full_name, whole, self.dialect),
            ),
            Contact.account_id.in_(account_ids),
        ]

    def _account_ids_starting(self, term: str) -> list[uuid.UUID]:
        """The first :data:`ACCOUNT_REACH` readable accounts starting with ``term``: a contact
        is found through its account among these (typing on narrows them), so that a prefix
        shared by 100,000 accounts costs an index range, not a join with all of them."""
        readable = AccountRepository(self.session, self.actor).readable()
        condition = starts_with(Account.name, term, self.dialect)
        query = readable.where(condition).with_only_columns(Account.id)
        return list(
            self.session.scalars(query.order_by(self._order(Account.name)).limit(ACCOUNT_REACH))
        )

    def users(self, terms: Sequence[str], limit: int) -> list[User]:
        """Active users by full name, user name or e-mail (every user may see who can own)."""
        matching = self._matching(terms, User.full_name, User.username, User.email)
        query = select(User).where(User.is_active, *matching)
        return list(self.session.scalars(query.order_by(func.lower(User.full_name)).limit(limit)))

    def account_names(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        readable = AccountRepository(self.session, self.actor).readable()
        query = readable.where(Account.id.in_(ids)).with_only_columns(Account.id, Account.name)
        return {row.id: row.name for row in self.session.execute(query)}

    def competitor_names(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        readable = CompetitorRepository(self.session, self.actor).readable()
        query = readable.where(Competitor.id.in_(ids))
        named = query.with_only_columns(Competitor.id, Competitor.name)
        return {row.id: row.name for row in self.session.execute(named)}

    def contacts_by_id(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        query = ContactRepository(self.session, self.actor).readable().where(Contact.id.in_(ids))
        return list(self.session.scalars(query))

    def user_names(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        query = select(User.id, User.full_name).where(User.id.in_(ids))
        return {row.id: row.full_name for row in self.session.execute(query)}

    # Exact matches, for the lookups of imports, of one value or of a batch's at once: each
    # value given, with the ids it matches (none, one, or several when it is ambiguous); a
    # query per chunk of values.
    def account_ids_named_among(self, names: Collection[str]) -> dict[str, list[uuid.UUID]]:
        readable = AccountRepository(self.session, self.actor).readable()
        return self._ids_among(readable, func.lower(Account.name), Account.id, names, str.lower)

    def account_ids_with_external_ids(self, ids: Collection[str]) -> dict[str, list[uuid.UUID]]:
        readable = AccountRepository(self.session, self.actor).readable()
        return self._ids_among(readable, Account.external_id, Account.id, ids)

    def contact_ids_with_external_ids(self, ids: Collection[str]) -> dict[str, list[uuid.UUID]]:
        readable = ContactRepository(self.session, self.actor).readable()
        return self._ids_among(readable, Contact.external_id, Contact.id, ids)

    def contact_ids_with_emails(self, emails: Collection[str]) -> dict[str, list[uuid.UUID]]:
        readable = ContactRepository(self.session, self.actor).readable()
        return self._ids_among(readable, func.lower(Contact.email), Contact.id, emails, str.lower)

    def opportunity_ids_with_external_ids(self, ids: Collection[str]) -> dict[str, list[uuid.UUID]]:
        readable = OpportunityRepository(self.session, self.actor).readable()
        return self._ids_among(readable, Opportunity.external_id, Opportunity.id, ids)

    def user_ids_named_among(self, names: Collection[str]) -> dict[str, list[uuid.UUID]]:
        """Active users whose user name, or e-mail ignoring case, is each of ``names``: two
        statements per chunk."""
        active = select(User.id).where(User.is_active)
        by_username = self._ids_among(active, User.username, User.id, names)
        email = func.lower(User.email)
        by_email = self._ids_among(active, email, User.id, names, str.lower)
        return {name: list(dict.fromkeys([*by_username[name], *by_email[name]])) for name in names}

    def _ids_among(
        self,
        readable: Select[Any],
        key: SQLColumnExpression[Any],
        id_column: SQLColumnExpression[uuid.UUID],
        values: Collection[str],
        fold: Callable[[str], str] = str,
    ) -> dict[str, list[uuid.UUID]]:
        """Each of ``values`` with the ids of the ``readable`` rows whose ``key`` equals it
        (``fold``-ed as the single lookup folds it): every id, where the single lookup
        stops at two."""
        folded = {value: fold(value) for value in values}
        found: dict[str, list[uuid.UUID]] = defaultdict(list)
        wanted = sorted(set(folded.values()))
        for start in range(0, len(wanted), AMONG_CHUNK):
            chunk = wanted[start : start + AMONG_CHUNK]
            query = readable.with_only_columns(key, id_column).where(key.in_(chunk))
            for matched, found_id in self.session.execute(query):
                found[matched].append(found_id)
        return {value: found.get(key_value, []) for value, key_value in folded.items()}
