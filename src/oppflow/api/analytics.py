"""``/api/v1/analytics``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from oppflow.analytics import service
from oppflow.analytics.schemas import Funnel, FunnelFilters
from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.responses import LIST

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get("/funnel", responses=LIST)
async def funnel(
    session: SessionDep, actor: ActorDep, filters: Annotated[FunnelFilters, Query()]
) -> Funnel:
    """Open opportunities by pipeline phase: count, estimated value and weighted value
    (estimated value × probability), over the rows the caller can read."""
    return service.funnel(session, actor=actor, filters=filters)
