"""Actions on many opportunities at once (the lists' bulk actions): assign, set the forecast
category, export. Each record goes through the same rule as one alone (``sharing.assign``,
``service.update_opportunity``); one refusal refuses the whole batch, so the caller's unit of work
rolls back and nothing changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pydantic import ValidationError as PydanticError
from sqlalchemy.orm import Session

from oppflow.errors import ValidationFailed
from oppflow.models import Opportunity
from oppflow.sales import service, sharing
from oppflow.sales.repository import OpportunityRepository
from oppflow.sales.schemas import OpportunityUpdate
from oppflow.security.actor import Actor

MAX_BATCH = 200


def _checked(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise ValidationFailed("ids: choose at least one opportunity.", field="ids")
    if len(unique) > MAX_BATCH:
        raise ValidationFailed(f"ids: at most {MAX_BATCH} opportunities at once.", field="ids")
    return unique


def assign_many(
    session: Session, *, actor: Actor, ids: Sequence[uuid.UUID], owner_id: uuid.UUID
) -> int:
    """Give every opportunity to ``owner_id``; the number assigned."""
    chosen = _checked(ids)
    for record_id in chosen:
        sharing.assign(
            session, actor=actor, things="opportunities", record_id=record_id, owner_id=owner_id
        )
    return len(chosen)


def set_forecast_many(
    session: Session, *, actor: Actor, ids: Sequence[uuid.UUID], category: str
) -> int:
    """Set the forecast category of every opportunity (open ones only, as one by one)."""
    chosen = _checked(ids)
    try:
        data = OpportunityUpdate.model_validate({"forecast_category": category})
    except PydanticError:
        raise ValidationFailed(
            f"forecast_category: {category[:40]!r} is not a category one may set.",
            field="forecast_category",
        ) from None
    for record_id in chosen:
        service.update_opportunity(session, actor=actor, opportunity_id=record_id, data=data)
    return len(chosen)


def readable_many(session: Session, *, actor: Actor, ids: Sequence[uuid.UUID]) -> list[Opportunity]:
    """The chosen opportunities the actor may read, by name (for an export)."""
    return OpportunityRepository(session, actor).many(_checked(ids))
