"""The audit log, written in one place: flush hooks on every session.

Whatever path changes a record (API, web page, CLI, demo generator, import), the flush that
writes it also writes one audit row per created, changed or deleted record, with old and new
values: gathered before the flush, inserted after it in one statement, in its transaction.
Services label a change with what it means (a stage move, a close, an assignment) with
:func:`labelled`; the edge says who and from where with :func:`acting`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from oppflow.clock import utcnow
from oppflow.models import AuditEntry, Base
from oppflow.models.base import Audited, new_id, set_since_load

# Never written to the log, whatever their value.
SECRET_FIELDS = frozenset({"password_hash", "token_hash"})
# The stamps, and what is kept from the change log (an opportunity's stage entry).
SKIPPED_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "created_by_id",
        "modified_at",
        "modified_by_id",
        "version",
        "stage_entered_at",
    }
)


@dataclass(frozen=True)
class AuditContext:
    actor_id: uuid.UUID | None
    business_unit_id: uuid.UUID | None
    address: str | None = None


def attribute(
    session: Session,
    actor_id: uuid.UUID | None,
    business_unit_id: uuid.UUID | None,
    address: str | None = None,
) -> None:
    """Say who is acting in this unit of work, and from where (set once by the edge)."""
    session.info["audit_context"] = AuditContext(actor_id, business_unit_id, address)


def _context(session: Session) -> AuditContext:
    found = session.info.get("audit_context")
    return found if isinstance(found, AuditContext) else AuditContext(None, None)


@contextmanager
def labelled(session: Session, action: str) -> Iterator[None]:
    """Record the changes flushed inside the block as ``action`` (e.g. "stage_move")."""
    previous = session.info.get("audit_action")
    session.info["audit_action"] = action
    try:
        yield
        session.flush()
    finally:
        session.info["audit_action"] = previous


def record(
    session: Session,
    action: str,
    *,
    table: str | None = None,
    record_id: uuid.UUID | None = None,
    subject: str | None = None,
    changes: dict[str, Any] | None = None,
    actor_id: uuid.UUID | None = None,
) -> None:
    """An explicit audit row, for events that change no record (log-ins, failures) or change
    rows that are not audited themselves (shares, notes, sales teams)."""
    context = _context(session)
    # Like the rows of the flush hook, a row about an owned record belongs to the record's
    # business unit (not the actor's): managers read the rows of their units' records only.
    unit = _owning_unit(session, table, record_id) or context.business_unit_id
    session.add(
        AuditEntry(
            at=utcnow(),
            action=action,
            table_name=table,
            record_id=record_id,
            subject=subject,
            actor_id=actor_id or context.actor_id,
            business_unit_id=unit,
            address=context.address,
            changes=changes or {},
        )
    )


def _owning_unit(
    session: Session, table: str | None, record_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The owning business unit of the record ``table``/``record_id``, when it has one (the
    record is normally in the session already, so this costs no query)."""
    if table is None or record_id is None:
        return None
    for mapper in Base.registry.mappers:
        named = getattr(mapper.class_, "__tablename__", None) == table
        if named and "owning_business_unit_id" in mapper.columns:
            found = session.get(mapper.class_, record_id)
            unit: uuid.UUID | None = getattr(found, "owning_business_unit_id", None)
            return unit
    return None


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


def _shown(field: str, value: Any) -> Any:
    return "***" if field in SECRET_FIELDS and value is not None else _json(value)


def _columns(record_: Audited) -> list[str]:
    model = type(record_)
    if model not in _COLUMNS:
        _COLUMNS[model] = [
            c.key for c in inspect(model).column_attrs if c.key not in SKIPPED_FIELDS
        ]
    return _COLUMNS[model]


# The audited columns of each model, by model (read once: the mapper does not change).
_COLUMNS: dict[type[Audited], list[str]] = {}


def _created(record_: Audited) -> dict[str, Any]:
    values = {key: getattr(record_, key) for key in _columns(record_)}
    return {key: [None, _shown(key, value)] for key, value in values.items() if value is not None}


def _updated(record_: Audited) -> dict[str, Any]:
    return {
        key: [_shown(key, old), _shown(key, new)]
        for key, old, new in set_since_load(record_, _columns(record_), load_old=True)
        if old != new
    }


def _deleted(record_: Audited) -> dict[str, Any]:
    return {key: [old, None] for key, (_, old) in _created(record_).items()}


def _entry(session: Session, record_: Audited, action: str, changes: dict[str, Any]) -> None:
    context = _context(session)
    table = record_.__tablename__  # type: ignore[attr-defined]
    unit = getattr(record_, "owning_business_unit_id", None)
    # The services stamp who changed a record; that is the most precise attribution.
    actor_id = record_.modified_by_id if action != "delete" else None
    pending: list[dict[str, Any]] = session.info[_PENDING]
    pending.append(
        {
            "at": utcnow(),
            "action": session.info.get("audit_action") or action,
            "table_name": table,
            "record_id": record_.id,  # type: ignore[attr-defined]
            "subject": None,
            "actor_id": actor_id or context.actor_id,
            "business_unit_id": unit or context.business_unit_id,
            "address": context.address,
            "changes": changes,
        }
    )


_PENDING = "audit_pending"


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    session.info[_PENDING] = []  # rows of a flush that failed are never written
    for new in [obj for obj in session.new if isinstance(obj, Audited)]:
        if getattr(new, "id", None) is None:
            new.id = new_id()  # type: ignore[attr-defined]
        _entry(session, new, "create", _created(new))
    for dirty in [obj for obj in session.dirty if isinstance(obj, Audited)]:
        changes = _updated(dirty)
        if changes:
            _entry(session, dirty, "update", changes)
    for gone in [obj for obj in session.deleted if isinstance(obj, Audited)]:
        _entry(session, gone, "delete", _deleted(gone))


def _after_flush(session: Session, _flush_context: Any) -> None:
    # One multi-row INSERT after the flush's own statements, in its transaction: the rows
    # are never read back as objects, so the unit of work need not track, order and return
    # them one by one (a stage move or a create paid about a tenth of its time for that).
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.connection().execute(insert(AuditEntry), pending)


def install() -> None:
    """Hook the audit writer into every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
