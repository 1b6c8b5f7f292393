"""Webhook delivery: dispatch events to subscriptions, claim due deliveries, send them signed
(Standard Webhooks), and record each answer.

Each step is its own short transaction; no transaction is open while a request is in flight.
A claim leases its deliveries: a worker that dies mid-delivery leaves them to be claimed again
when the lease ends, and they are sent again with the same event id.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import literal, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from oppflow import __version__, audit
from oppflow.clock import utcnow
from oppflow.config import get_settings
from oppflow.events import safety
from oppflow.events.cursor import Cursor
from oppflow.events.repository import EventRepository
from oppflow.events.schemas import EventRead
from oppflow.events.webhook_repository import WebhookRepository
from oppflow.models import Event, WebhookAttempt, WebhookDelivery, WebhookSubscription
from oppflow.models.base import new_id

log = logging.getLogger("oppflow.webhooks")
DISPATCH_BATCH = 500


@dataclass(frozen=True)
class Claimed:
    """What one delivery attempt needs, read in the claiming transaction."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    attempt: int
    url: str
    secret: str
    event_id: uuid.UUID
    body: str


@dataclass(frozen=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def matches(subscription: WebhookSubscription, event: Event) -> bool:
    """Whether ``subscription`` wants ``event``: its type, process and phase."""
    kind = event.type.split(".", 1)[0]
    wanted = {event.type, f"{kind}.*", "*.*"} & set(subscription.event_types)
    if not wanted:
        return False
    if subscription.process_keys and event.process_key not in subscription.process_keys:
        return False
    phases = subscription.pipeline_phases
    return not phases or event.pipeline_phase in phases


def dispatch(session: Session) -> int:
    """Turn the settled events after the dispatcher's cursor into deliveries; the number of
    events read (0 when another worker is dispatching)."""
    repository = WebhookRepository(session)
    cursor = repository.lock_dispatch()
    if cursor is None:
        return 0
    events = EventRepository(session).batch_after(Cursor(cursor.tx_id, cursor.seq), DISPATCH_BATCH)
    if not events:
        return 0
    now, subscriptions = utcnow(), repository.enabled()
    repository.add_deliveries(
        [
            {
                "id": new_id(),
                "subscription_id": subscription.id,
                "event_seq": event.seq,
                "record_id": event.record_id,
                "record_seq": event.record_seq,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event in events
            for subscription in subscriptions
            if matches(subscription, event)
        ]
    )
    cursor.tx_id, cursor.seq = events[-1].tx_id, events[-1].seq
    return len(events)


def body_of(event: Event) -> str:
    """The JSON a webhook carries: the event as the feed shows it, without the cursor."""
    read = EventRead.of(event).model_dump(mode="json", exclude={"cursor"})
    return json.dumps(read, separators=(",", ":"))


def claim(session: Session, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to this worker."""
    repository = WebhookRepository(session)
    now = utcnow()
    lease = timedelta(seconds=get_settings().webhook_lease_seconds)
    found = repository.claim(now, limit)
    events = repository.events_by_seq([d.event_seq for d in found])
    subscriptions = {s.id: s for s in repository.enabled()}
    claimed: list[Claimed] = []
    for delivery in found:
        delivery.status, delivery.lease_until = "delivering", now + lease
        delivery.attempts += 1
        subscription, event = subscriptions[delivery.subscription_id], events[delivery.event_seq]
        claimed.append(
            Claimed(
                delivery.id,
                subscription.id,
                delivery.attempts,
                subscription.url,
                subscription.secret,
                event.id,
                body_of(event),
            )
        )
    session.flush()
    return claimed


def _target(url: str) -> tuple[str, str, dict[str, Any]]:
    """The URL with its host replaced by the address it resolves to now (checked), the Host
    header, and the TLS name to verify: the connection goes where the check looked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = safety.resolve(host, port)
    shown = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{shown}:{port}"
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=netloc)), host_header, extensions


def signed_headers(claimed: Claimed, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: id (the event's, the same on every retry), timestamp and
    signature."""
    signature = Webhook(claimed.secret).sign(str(claimed.event_id), at, claimed.body)
    return {
        "content-type": "application/json",
        "user-agent": f"oppflow/{__version__}",
        "webhook-id": str(claimed.event_id),
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def send(client: httpx.Client, claimed: Claimed) -> Outcome:
    """POST the event; the answer's status and at most the configured bytes of its body."""
    started, clock = utcnow(), time.monotonic()

    def outcome(**fields: Any) -> Outcome:
        return Outcome(started, int((time.monotonic() - clock) * 1000), **fields)

    try:
        target, host, extensions = _target(claimed.url)
        headers = {**signed_headers(claimed, started), "host": host}
        with client.stream(
            "POST", target, content=claimed.body, headers=headers, extensions=extensions
        ) as answer:
            excerpt = _read_capped(answer)
            return outcome(status_code=answer.status_code, excerpt=excerpt)
    except safety.UnsafeDestination as exc:
        return outcome(error=f"refused: {exc}"[:300])
    except httpx.HTTPError as exc:
        return outcome(error=f"{type(exc).__name__}: {exc}"[:300])


def _read_capped(answer: httpx.Response) -> str:
    cap = get_settings().webhook_max_response_bytes
    read = b""
    for chunk in answer.iter_bytes():
        read += chunk[: cap - len(read)]
        if len(read) >= cap:
            break
    return read.decode("utf-8", "replace")[:2000]


def backoff(attempt: int) -> timedelta:
    """Exponential with full jitter between half and the whole delay, capped."""
    settings = get_settings()
    ceiling = min(
        settings.webhook_retry_max_seconds,
        settings.webhook_retry_base_seconds * 2 ** min(attempt - 1, 30),
    )
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def finish(session: Session, results: Sequence[tuple[Claimed, Outcome]]) -> None:
    """Log the attempts of a claimed batch and settle its deliveries (succeeded, retried later,
    or given up), in one transaction: a worker commits once per batch, not once per delivery.
    A delivery whose lease ran out and was claimed again meanwhile is left to its new holder."""
    repository = WebhookRepository(session)
    held = repository.held([claimed.delivery_id for claimed, _ in results])
    succeeded: dict[uuid.UUID, list[bool]] = {}
    for claimed, outcome in results:
        delivery = held.get(claimed.delivery_id)
        if delivery is None or delivery.status != "delivering":
            continue  # deleted with its subscription meanwhile
        if delivery.attempts != claimed.attempt:
            continue  # claimed again by another worker after this lease ran out
        _settle(repository, delivery, claimed, outcome)
        succeeded.setdefault(claimed.subscription_id, []).append(outcome.succeeded)
    for subscription_id, outcomes in succeeded.items():
        _failures(session, subscription_id, outcomes)


def _settle(
    repository: WebhookRepository, delivery: WebhookDelivery, claimed: Claimed, outcome: Outcome
) -> None:
    repository.log(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempt=claimed.attempt,
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
        )
    )
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    delivery.lease_until = None
    if outcome.succeeded:
        delivery.status, delivery.completed_at = "succeeded", utcnow()
    else:
        _retry_or_give_up(delivery)


def _last_success(succeeded: list[bool]) -> int:
    """The index of the last success, or -1."""
    return max((index for index, ok in enumerate(succeeded) if ok), default=-1)


def _retry_or_give_up(delivery: WebhookDelivery) -> None:
    window = timedelta(hours=get_settings().webhook_retry_window_hours)
    now = utcnow()
    delay = backoff(delivery.attempts)
    if now + delay - delivery.created_at > window:
        delivery.status, delivery.completed_at = "failed", now
    else:
        delivery.status, delivery.next_attempt_at = "pending", now + delay


def _failures(session: Session, subscription_id: uuid.UUID, succeeded: list[bool]) -> None:
    """Count failed attempts in a row (``succeeded``: a batch's outcomes, in order); disable
    the subscription at the threshold and tell the administrators (audit log, the admin page,
    the server log)."""
    column = WebhookSubscription.consecutive_failures
    trailing = len(succeeded) - (_last_success(succeeded) + 1)
    counted = column + trailing if trailing == len(succeeded) else literal(trailing)
    statement = update(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    count = session.execute(
        statement.values(consecutive_failures=counted).returning(column)
    ).scalar()
    if not trailing or count is None or count < get_settings().webhook_disable_after:
        return
    reason = f"Disabled after {count} failed deliveries in a row."
    session.execute(
        statement.where(WebhookSubscription.enabled).values(enabled=False, disabled_reason=reason)
    )
    audit.record(
        session,
        "webhook_disabled",
        table="webhook_subscriptions",
        record_id=subscription_id,
        changes={"reason": reason},
    )
    log.warning("webhook subscription %s disabled: %s", subscription_id, reason)
