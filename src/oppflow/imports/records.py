"""How each kind of import creates one row: through the same service and create schema as the
API, with the row's lookups resolved first (so no rule is bypassed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oppflow.imports import history, opportunities
from oppflow.imports.rows import Row
from oppflow.leads import service as leads_service
from oppflow.leads.schemas import LeadCreate
from oppflow.models import Account, Contact, Lead, Opportunity
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import AccountCreate, ContactCreate

# A creator makes the row's record with its external id (``Row.external_id``), or moves an
# existing one (a history row).
Creator = Callable[[Row], Any]


def create_account(row: Row) -> Account:
    data = AccountCreate.model_validate(row.lookups.resolve(row.values))
    return sales_service.create_account(
        row.session, actor=row.actor, data=data, external_id=row.external_id
    )


def create_contact(row: Row) -> Contact:
    data = ContactCreate.model_validate(row.lookups.resolve(row.values))
    return sales_service.create_contact(
        row.session, actor=row.actor, data=data, external_id=row.external_id
    )


def create_lead(row: Row) -> Lead:
    data = LeadCreate.model_validate(row.lookups.resolve(row.values))
    return leads_service.create_lead(
        row.session, actor=row.actor, data=data, external_id=row.external_id
    )


CREATORS: dict[str, Creator] = {
    "accounts": create_account,
    "contacts": create_contact,
    "leads": create_lead,
    "opportunities": opportunities.create,
    "history": history.record,
}
# The tables whose rows carry their own external id (history rows name an opportunity's).
MODELS: dict[str, type[Account] | type[Contact] | type[Lead] | type[Opportunity]] = {
    "accounts": Account,
    "contacts": Contact,
    "leads": Lead,
    "opportunities": Opportunity,
}
