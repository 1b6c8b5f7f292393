"""Every query on webhook subscriptions, deliveries and their log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from oppflow.events.cursor import Cursor
from oppflow.models import (
    Event,
    EventCursor,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

DISPATCHER = "webhooks"
# Deliveries that hold back the later events of their record (per-record order).
_OPEN = ("pending", "delivering")


class WebhookRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def get(self, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        return self.session.get(WebhookSubscription, subscription_id)

    def all(self) -> list[WebhookSubscription]:
        query = select(WebhookSubscription).order_by(WebhookSubscription.created_at)
        return list(self.session.scalars(query))

    def enabled(self) -> list[WebhookSubscription]:
        query = select(WebhookSubscription).where(WebhookSubscription.enabled)
        return list(self.session.scalars(query))

    def start_dispatch_at(self, cursor: Cursor) -> None:
        """Create the dispatcher's cursor at ``cursor`` unless it exists (first subscription)."""
        values = {"name": DISPATCHER, "tx_id": cursor.tx_id, "seq": cursor.seq}
        dialect = postgresql if self._postgres else sqlite
        statement = dialect.insert(EventCursor).values(values).on_conflict_do_nothing()
        self.session.execute(statement)

    def lock_dispatch(self) -> EventCursor | None:
        """The dispatcher's cursor, locked; None when another worker holds it (PostgreSQL) or
        none exists yet. (On SQLite the worker's unit of work holds the database's single
        write lock from its BEGIN: ``oppflow.db``.)"""
        query = select(EventCursor).where(EventCursor.name == DISPATCHER)
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return self.session.scalars(query).first()

    def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(WebhookDelivery), list(rows))

    def claim(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        """Due deliveries (or leased ones whose worker died), locked for this transaction,
        skipping those another worker holds and those with an earlier open event of the same
        record for the same subscription."""
        earlier = aliased(WebhookDelivery)
        blocked = exists().where(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.record_id == WebhookDelivery.record_id,
            earlier.record_seq < WebhookDelivery.record_seq,
            earlier.status.in_(_OPEN),
        )
        due = or_(
            and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
            and_(WebhookDelivery.status == "delivering", WebhookDelivery.lease_until < now),
        )
        enabled = select(WebhookSubscription.id).where(WebhookSubscription.enabled)
        query = (
            select(WebhookDelivery)
            .where(due, ~blocked, WebhookDelivery.subscription_id.in_(enabled))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        return list(self.session.scalars(query))

    def delivery(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return self.session.get(WebhookDelivery, delivery_id)

    def held(self, delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WebhookDelivery]:
        """The deliveries of a batch, by id, in one query."""
        query = select(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids))
        return {delivery.id: delivery for delivery in self.session.scalars(query)}

    def events_by_seq(self, seqs: Sequence[int]) -> dict[int, Event]:
        if not seqs:
            return {}
        query = select(Event).where(Event.seq.in_(seqs))
        return {event.seq: event for event in self.session.scalars(query)}

    def event(self, seq: int) -> Event | None:
        return self.session.get(Event, seq)

    def deliveries(
        self, subscription_id: uuid.UUID, limit: int, status: str | None
    ) -> list[tuple[WebhookDelivery, Event]]:
        query = (
            select(WebhookDelivery, Event)
            .join(Event, Event.seq == WebhookDelivery.event_seq)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.event_seq.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        return [(row[0], row[1]) for row in self.session.execute(query)]

    def attempts(self, delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
        query = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.seq)
        )
        found: dict[uuid.UUID, list[WebhookAttempt]] = {}
        for attempt in self.session.scalars(query):
            found.setdefault(attempt.delivery_id, []).append(attempt)
        return found

    def log(self, attempt: WebhookAttempt) -> None:
        self.session.add(attempt)
