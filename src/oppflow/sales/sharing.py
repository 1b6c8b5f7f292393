"""Who owns a record and who else may act on it: assign, share and unshare.

The same rules serve every owned table (accounts, contacts, opportunities, leads); the table is
named by its API path and resolved through :data:`OWNED_REPOSITORIES`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.errors import NotFound, ValidationFailed
from oppflow.leads.repository import LeadRepository
from oppflow.models import RecordShare, Team
from oppflow.records import active_user, apply_changes, check_version
from oppflow.repository import RecordRepository
from oppflow.sales.repository import AccountRepository, ContactRepository, OpportunityRepository
from oppflow.security.actor import Actor
from oppflow.security.repository import ShareRepository
from oppflow.security.scope import require, table_of
from oppflow.security.service import active_reader

OWNED_REPOSITORIES: dict[str, type[RecordRepository[Any]]] = {
    "accounts": AccountRepository,
    "contacts": ContactRepository,
    "leads": LeadRepository,
    "opportunities": OpportunityRepository,
}


def _record(session: Session, actor: Actor, things: str, record_id: uuid.UUID) -> Any:
    return OWNED_REPOSITORIES[things](session, actor).get(record_id)


def assign(
    session: Session,
    *,
    actor: Actor,
    things: str,
    record_id: uuid.UUID,
    owner_id: uuid.UUID,
    if_match: int | None = None,
) -> Any:
    """Give a record to another owner: the actor needs assign on it, the new owner read."""
    record = _record(session, actor, things, record_id)
    check_version(record, if_match)
    require(session, actor, "assign", record)
    owner = active_reader(session, owner_id, table_of(record), field="owner_id")
    with audit.labelled(session, "assign"):
        apply_changes(
            record, {"owner_id": owner.id, "owning_business_unit_id": owner.business_unit_id}, actor
        )
    return record


def share(
    session: Session,
    *,
    actor: Actor,
    things: str,
    record_id: uuid.UUID,
    principal_type: str,
    principal_id: uuid.UUID,
    actions: list[str],
) -> list[RecordShare]:
    """Grant a user or team some actions on a record; one may share only what one may do."""
    record = _record(session, actor, things, record_id)
    require(session, actor, "share", record)
    for action in actions:
        require(session, actor, action, record)
    _check_principal(session, principal_type, principal_id)
    table = table_of(record)
    existing = {
        s.action
        for s in list_shares(session, actor=actor, things=things, record_id=record_id)
        if s.principal_id == principal_id
    }
    granted = [
        RecordShare(
            table_name=table,
            record_id=record.id,
            principal_type=principal_type,
            principal_id=principal_id,
            action=action,
            created_by_id=actor.user_id,
        )
        for action in sorted(set(actions) - existing)
    ]
    session.add_all(granted)
    audit.record(
        session,
        "share",
        table=record.__tablename__,
        record_id=record.id,
        changes={
            "principal": [None, f"{principal_type}:{principal_id}"],
            "actions": [None, sorted(actions)],
        },
    )
    session.flush()
    return granted


def _check_principal(session: Session, principal_type: str, principal_id: uuid.UUID) -> None:
    if principal_type == "user":
        active_user(session, principal_id, field="principal_id")
    elif session.get(Team, principal_id) is None:
        raise ValidationFailed(f"principal_id: no team {principal_id}.", field="principal_id")


def list_shares(
    session: Session, *, actor: Actor, things: str, record_id: uuid.UUID
) -> list[RecordShare]:
    record = _record(session, actor, things, record_id)
    return ShareRepository(session).for_record(table_of(record), record.id)


def unshare(
    session: Session, *, actor: Actor, things: str, record_id: uuid.UUID, share_id: uuid.UUID
) -> None:
    """Withdraw one shared action."""
    record = _record(session, actor, things, record_id)
    require(session, actor, "share", record)
    found = ShareRepository(session).get(share_id)
    if found is None or found.record_id != record.id:
        raise NotFound(f"No share {share_id} on this record.")
    audit.record(
        session,
        "unshare",
        table=record.__tablename__,
        record_id=record.id,
        changes={
            "principal": [f"{found.principal_type}:{found.principal_id}", None],
            "actions": [[found.action], None],
        },
    )
    session.delete(found)
    session.flush()
