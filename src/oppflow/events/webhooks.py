"""Webhook subscriptions, managed by administrators: create (the secret shown once), read,
change, delete, their deliveries and Resend."""

from __future__ import annotations

import base64
import secrets
import uuid

from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.clock import utcnow
from oppflow.errors import Conflict, NotFound
from oppflow.events import safety
from oppflow.events.repository import EventRepository
from oppflow.events.webhook_repository import WebhookRepository
from oppflow.events.webhook_schemas import (
    AttemptRead,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from oppflow.models import Event, WebhookAttempt, WebhookDelivery, WebhookSubscription
from oppflow.security.actor import Actor

SECRET_PREFIX = "whsec_"
TABLE = "webhook_subscriptions"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _admin(actor: Actor | None) -> None:
    if actor is not None:
        actor.require_admin()


def create(session: Session, *, actor: Actor | None, data: WebhookCreate) -> WebhookCreated:
    """A new subscription; its secret is in this answer and never again."""
    _admin(actor)
    subscription = WebhookSubscription(
        url=safety.check_url(data.url),
        description=data.description,
        event_types=list(data.events),
        process_keys=data.process_keys,
        pipeline_phases=data.pipeline_phases,
        secret=new_secret(),
        created_by_id=actor.user_id if actor else None,
    )
    session.add(subscription)
    repository = WebhookRepository(session)
    # Deliveries start with the events after the first subscription; none before.
    repository.start_dispatch_at(EventRepository(session).last())
    session.flush()
    audit.record(session, "webhook_created", table=TABLE, record_id=subscription.id)
    read = WebhookRead.model_validate(subscription)
    return WebhookCreated(**read.model_dump(), secret=subscription.secret)


def _get(session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    found = WebhookRepository(session).get(subscription_id)
    if found is None:
        raise NotFound("No such webhook subscription.")
    return found


def get(session: Session, *, actor: Actor | None, subscription_id: uuid.UUID) -> WebhookRead:
    _admin(actor)
    return WebhookRead.model_validate(_get(session, subscription_id))


def list_all(session: Session, *, actor: Actor | None) -> list[WebhookRead]:
    _admin(actor)
    return [WebhookRead.model_validate(s) for s in WebhookRepository(session).all()]


def update(
    session: Session, *, actor: Actor | None, subscription_id: uuid.UUID, data: WebhookUpdate
) -> WebhookRead:
    """Change a subscription; ``enabled: true`` re-enables one disabled after failures."""
    _admin(actor)
    subscription = _get(session, subscription_id)
    given = data.model_dump(exclude_unset=True)
    if given.get("url") is not None:
        subscription.url = safety.check_url(given["url"])
    if given.get("events") is not None:
        subscription.event_types = list(given["events"])
    for field in ("process_keys", "pipeline_phases", "description"):
        if field in given:
            setattr(subscription, field, given[field])
    if given.get("enabled") is not None:
        _enable(subscription, given["enabled"])
    session.flush()
    audit.record(session, "webhook_changed", table=TABLE, record_id=subscription.id)
    return WebhookRead.model_validate(subscription)


def _enable(subscription: WebhookSubscription, enabled: bool) -> None:
    subscription.enabled = enabled
    subscription.disabled_reason = None if enabled else "Disabled by an administrator."
    if enabled:
        subscription.consecutive_failures = 0


def delete(session: Session, *, actor: Actor | None, subscription_id: uuid.UUID) -> None:
    """Remove a subscription with its deliveries and their log."""
    _admin(actor)
    subscription = _get(session, subscription_id)
    session.delete(subscription)
    session.flush()
    audit.record(session, "webhook_deleted", table=TABLE, record_id=subscription_id)


def deliveries(
    session: Session,
    *,
    actor: Actor | None,
    subscription_id: uuid.UUID,
    limit: int = 50,
    status: str | None = None,
) -> list[DeliveryRead]:
    """The subscription's deliveries, newest event first, each with its attempts."""
    _admin(actor)
    _get(session, subscription_id)
    repository = WebhookRepository(session)
    rows = repository.deliveries(subscription_id, limit, status)
    log = repository.attempts([delivery.id for delivery, _ in rows])
    return [_read(delivery, event, log.get(delivery.id, [])) for delivery, event in rows]


def _read(delivery: WebhookDelivery, event: Event, log: list[WebhookAttempt]) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        event_id=event.id,
        event_type=event.type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        completed_at=delivery.completed_at,
        log=[AttemptRead.model_validate(attempt) for attempt in log],
    )


def resend(
    session: Session, *, actor: Actor | None, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRead:
    """Deliver again (same event id) now: a failed or succeeded delivery goes back to pending."""
    _admin(actor)
    repository = WebhookRepository(session)
    delivery = repository.delivery(delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFound("No such delivery of this subscription.")
    if delivery.status == "delivering":
        raise Conflict("This delivery is being attempted now; wait for its answer.")
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    delivery.completed_at = None
    session.flush()
    audit.record(session, "webhook_resent", table=TABLE, record_id=subscription_id)
    event = repository.event(delivery.event_seq)
    assert event is not None  # events are never deleted
    return _read(delivery, event, repository.attempts([delivery.id]).get(delivery.id, []))
