"""``/api/v1/webhooks``: subscriptions that send events to other systems (administrators)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.responses import problems
from oppflow.events import webhooks
from oppflow.events.webhook_schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
ONE = problems(401, 403, 404, 422)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problems(400, 401, 403, 422),
)
async def create_webhook(
    session: SessionDep, actor: ActorDep, data: WebhookCreate
) -> WebhookCreated:
    """Subscribe a URL to events (``opportunity.*`` for every type of a kind), optionally only
    those of some processes or pipeline phases. The answer holds the signing secret, shown
    this once. The URL must be https and must not point to an internal address."""
    return webhooks.create(session, actor=actor, data=data)


@router.get("", responses=problems(401, 403))
async def list_webhooks(session: SessionDep, actor: ActorDep) -> dict[str, list[WebhookRead]]:
    """Every subscription (without secrets)."""
    return {"items": webhooks.list_all(session, actor=actor)}


@router.get("/{subscription_id}", responses=ONE)
async def get_webhook(
    session: SessionDep, actor: ActorDep, subscription_id: uuid.UUID
) -> WebhookRead:
    """One subscription (without its secret)."""
    return webhooks.get(session, actor=actor, subscription_id=subscription_id)


@router.patch("/{subscription_id}", responses=problems(400, 401, 403, 404, 422))
async def update_webhook(
    session: SessionDep, actor: ActorDep, subscription_id: uuid.UUID, data: WebhookUpdate
) -> WebhookRead:
    """Change a subscription; ``enabled: true`` re-enables one disabled after failures."""
    return webhooks.update(session, actor=actor, subscription_id=subscription_id, data=data)


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=ONE,
)
async def delete_webhook(session: SessionDep, actor: ActorDep, subscription_id: uuid.UUID) -> None:
    """Remove a subscription with its deliveries and their log."""
    webhooks.delete(session, actor=actor, subscription_id=subscription_id)


@router.get("/{subscription_id}/deliveries", responses=ONE)
async def list_deliveries(
    session: SessionDep,
    actor: ActorDep,
    subscription_id: uuid.UUID,
    status: Literal["pending", "delivering", "succeeded", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, list[DeliveryRead]]:
    """The delivery log: the newest events' deliveries first, each with every attempt (time,
    duration, answer status or error)."""
    found = webhooks.deliveries(
        session, actor=actor, subscription_id=subscription_id, limit=limit, status=status
    )
    return {"items": found}


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/resend",
    responses=problems(401, 403, 404, 409, 422),
)
async def resend_delivery(
    session: SessionDep, actor: ActorDep, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRead:
    """Send a delivery again (same event id) as soon as a worker is free."""
    return webhooks.resend(
        session, actor=actor, subscription_id=subscription_id, delivery_id=delivery_id
    )
