"""Events (the transactional outbox) and the webhook subscriptions that deliver them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oppflow.clock import utcnow
from oppflow.models.base import SEQUENCE_ID, Base, new_id


class Event(Base):
    """Append-only: one row per thing that happened to an opportunity or a lead, written by the
    flush that made the change (``events/outbox.py``), so it exists if and only if the change
    committed.

    ``seq`` orders the rows as they were inserted; ``tx_id`` is the PostgreSQL transaction that
    wrote them (0 on SQLite, whose single writer commits in ``seq`` order). The feed and the
    dispatcher read in ``(tx_id, seq)`` order and only below the oldest running transaction, so
    a later commit never slips in behind a cursor. ``record_seq`` increases per record.
    ``owner_id`` and ``owning_business_unit_id`` are the record's at the time, so the feed can
    still decide who may see the events of a deleted record.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_feed", "tx_id", "seq"),
        Index("ix_events_record", "record_id", "record_seq"),
    )

    seq: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=new_id)
    tx_id: Mapped[int] = mapped_column(BigInteger, default=0)
    type: Mapped[str] = mapped_column(String(40), index=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[uuid.UUID]
    record_seq: Mapped[int] = mapped_column(BigInteger)
    record_version: Mapped[int]
    occurred_at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    owning_business_unit_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    process_key: Mapped[str | None] = mapped_column(String(64), default=None)
    pipeline_phase: Mapped[str | None] = mapped_column(String(40), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EventCursor(Base):
    """How far a reader of the events (the webhook dispatcher) has got, as ``(tx_id, seq)``."""

    __tablename__ = "event_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    tx_id: Mapped[int] = mapped_column(BigInteger, default=0)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookSubscription(Base):
    """Where to send which events. The secret is kept as given (Standard Webhooks signs with
    the shared key itself; decision 13) and shown once, at creation."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200), default=None)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    process_keys: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    pipeline_phases: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event owed to one subscription: pending, delivering (leased to a worker until
    ``lease_until``), succeeded or failed (given up after the retry window)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index(
            "ix_webhook_deliveries_record", "subscription_id", "record_id", "record_seq", "status"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_seq: Mapped[int] = mapped_column(SEQUENCE_ID, ForeignKey("events.seq"), index=True)
    record_id: Mapped[uuid.UUID]
    record_seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookAttempt(Base):
    """The delivery log: one row per try, with the answer's status (or the error) and time."""

    __tablename__ = "webhook_attempts"

    seq: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int]
    started_at: Mapped[datetime]
    duration_ms: Mapped[int]
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)
