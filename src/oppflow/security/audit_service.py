"""Reading the audit log, within the depth of the caller's audit privilege."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import Session

from oppflow.models import AuditEntry
from oppflow.security.actor import Actor
from oppflow.security.privileges import Depth
from oppflow.security.repository import AuditRepository
from oppflow.security.scope import TABLE_OF, one_of


def _scope(actor: Actor) -> ColumnElement[bool]:
    depth = actor.depth("audit", "read")
    if depth >= Depth.ORGANIZATION:
        return true()
    if depth >= Depth.PARENT_CHILD:
        return one_of(AuditEntry.business_unit_id, actor.business_unit_tree)
    if depth >= Depth.BUSINESS_UNIT:
        return AuditEntry.business_unit_id == actor.business_unit_id
    if depth >= Depth.USER:
        return AuditEntry.actor_id == actor.user_id
    return false()


def entries(
    session: Session,
    *,
    actor: Actor,
    table: str | None,
    record_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    limit: int,
    before: int | None,
) -> list[AuditEntry]:
    """Newest first; ``table`` is a privilege table name (``opportunity``) or a table name."""
    actor.require("audit", "read")
    conditions = [_scope(actor)]
    if table is not None:
        names = [name for name, privilege in TABLE_OF.items() if privilege == table] or [table]
        conditions.append(AuditEntry.table_name.in_(names))
    if record_id is not None:
        conditions.append(AuditEntry.record_id == record_id)
    if actor_id is not None:
        conditions.append(AuditEntry.actor_id == actor_id)
    return AuditRepository(session).page(conditions, limit=limit, before=before)
