"""The names a quote's document prints: its customer, contact, owner, the organisation, and
the products and units of its lines. Read for a quote that came through the scoped
:class:`~oppflow.quotes.repository.QuoteRepository`, so they need no scope of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from oppflow.models import Account, Contact, Opportunity, Product, Unit, User
from oppflow.security.repository import BusinessUnitRepository


class DocumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def account(self, account_id: uuid.UUID | None) -> Account | None:
        return self.session.get(Account, account_id) if account_id else None

    def contact(self, contact_id: uuid.UUID | None) -> Contact | None:
        return self.session.get(Contact, contact_id) if contact_id else None

    def owner_of(self, opportunity_id: uuid.UUID) -> User | None:
        query = select(User).join(Opportunity, Opportunity.owner_id == User.id)
        return self.session.scalar(query.where(Opportunity.id == opportunity_id))

    def user(self, user_id: uuid.UUID | None) -> User | None:
        return self.session.get(User, user_id) if user_id else None

    def organisation(self) -> str:
        return BusinessUnitRepository(self.session).root().name

    def product_names(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
        wanted = {i for i in ids if i is not None}
        query = select(Product.id, Product.name).where(Product.id.in_(wanted))
        return {row.id: row.name for row in self.session.execute(query)} if wanted else {}

    def unit_names(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
        wanted = {i for i in ids if i is not None}
        query = select(Unit.id, Unit.name).where(Unit.id.in_(wanted))
        return {row.id: row.name for row in self.session.execute(query)} if wanted else {}
