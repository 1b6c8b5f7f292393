"""The transactional outbox, written in one place: a ``before_flush`` hook on every session.

Whatever path changes an opportunity or a lead (API, web page, CLI, lead qualification,
closing, reopening, deleting, the demo generator), the flush that writes it also writes its
events in the same transaction: an event exists if and only if its change committed. The rows
are gathered before the flush (from the attributes' history, no query) and written after it in
one multi-row INSERT, as the change log is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, event, insert, inspect, literal_column
from sqlalchemy.orm import Session

from oppflow.clock import utcnow
from oppflow.events.payloads import (
    EventRow,
    created_payload,
    json_value,
    opportunity_events,
    quote_events,
)
from oppflow.models import Event, Lead, Opportunity, Quote, StageHistory
from oppflow.models.base import new_id

_PENDING = "outbox_pending"
# Events of one record in one flush are numbered version × SLOTS + their position, so the
# sequence increases per record without reading the last one.
SLOTS = 8
_PG_TX_ID = literal_column("pg_current_xact_id()::text::bigint", BigInteger())


def _actor(session: Session, record: Opportunity | Lead | Quote) -> uuid.UUID | None:
    context = session.info.get("audit_context")
    acting: uuid.UUID | None = getattr(context, "actor_id", None)
    return acting or record.modified_by_id


def _row(
    session: Session,
    record: Opportunity | Lead | Quote,
    version: int,
    position: int,
    found: EventRow,
) -> dict[str, Any]:
    # A quote's events carry its opportunity's owner and unit: quotes follow their opportunity.
    owned = _opportunity_of(session, record) if isinstance(record, Quote) else record
    return {
        "id": new_id(),
        "type": found.type,
        "record_type": RECORD_TYPES[type(record)],
        "record_id": record.id,
        "record_seq": version * SLOTS + position,
        "record_version": version,
        "occurred_at": utcnow(),
        "actor_id": _actor(session, record),
        "owner_id": owned.owner_id,
        "owning_business_unit_id": owned.owning_business_unit_id,
        "process_key": getattr(record, "process_key", None),
        "pipeline_phase": getattr(record, "pipeline_phase", None),
        "payload": found.payload,
    }


RECORD_TYPES: dict[type[Any], str] = {Opportunity: "opportunity", Lead: "lead", Quote: "quote"}


def _opportunity_of(session: Session, quote: Quote) -> Opportunity:
    # The quote services load the opportunity first, so this is found in the identity map.
    opportunity = session.get(Opportunity, quote.opportunity_id)
    assert opportunity is not None  # the foreign key sees to it
    return opportunity


def _queue(
    session: Session,
    record: Opportunity | Lead | Quote,
    version: int,
    found: Iterator[EventRow],
) -> None:
    pending: list[dict[str, Any]] = session.info[_PENDING]
    pending.extend(
        _row(session, record, version, position, row) for position, row in enumerate(found)
    )


def _moves(session: Session) -> dict[uuid.UUID, StageHistory]:
    """This flush's stage history rows by opportunity: they say the kind of each move."""
    return {
        row.opportunity_id: row
        for row in session.new
        if isinstance(row, StageHistory) and row.opportunity_id is not None
    }


def _lead_events(lead: Lead) -> Iterator[EventRow]:
    history = inspect(lead).attrs["state"].history
    if not history.added or history.added[0] == (history.deleted or [None])[0]:
        return
    if lead.state == "qualified":
        yield EventRow(
            "lead.qualified",
            {
                "opportunity_id": json_value(lead.qualified_opportunity_id),
                "account_id": json_value(lead.qualified_account_id),
                "contact_id": json_value(lead.qualified_contact_id),
            },
        )
    elif lead.state == "disqualified":
        yield EventRow("lead.disqualified", {"status_reason": lead.status_reason})


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    session.info[_PENDING] = []  # rows of a flush that failed are never written
    moves = _moves(session)
    for new in [obj for obj in session.new if isinstance(obj, Opportunity)]:
        new.id = new.id or new_id()
        _queue(session, new, 1, iter([EventRow("opportunity.created", created_payload(new))]))
    for dirty in [obj for obj in session.dirty if isinstance(obj, Opportunity)]:
        found = list(opportunity_events(dirty, moves.get(dirty.id)))
        if found:
            _queue(session, dirty, (dirty.version or 0) + 1, iter(found))
    for lead in [obj for obj in session.dirty if isinstance(obj, Lead)]:
        _queue(session, lead, (lead.version or 0) + 1, _lead_events(lead))
    for quote in [obj for obj in session.new if isinstance(obj, Quote)]:
        _queue(session, quote, 1, quote_events(quote, is_new=True))
    for quote in [obj for obj in session.dirty if isinstance(obj, Quote)]:
        _queue(session, quote, (quote.version or 0) + 1, quote_events(quote, is_new=False))
    for gone in [obj for obj in session.deleted if isinstance(obj, Opportunity)]:
        deleted = EventRow("opportunity.deleted", {"name": gone.name})
        _queue(session, gone, (gone.version or 0) + 1, iter([deleted]))


def _after_flush(session: Session, _flush_context: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    statement = insert(Event)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.values(tx_id=_PG_TX_ID)
    session.connection().execute(statement, pending)


def install() -> None:
    """Hook the outbox into every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
