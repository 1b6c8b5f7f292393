"""``/api/v1/audit``: who changed what, when and from where (read-only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.responses import problems
from oppflow.schemas import NO_NUL
from oppflow.security import audit_service
from oppflow.security.schemas import AuditRead

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", responses=problems(401, 403, 422))
async def list_audit(
    session: SessionDep,
    actor: ActorDep,
    table: Annotated[str | None, Query(max_length=32, pattern=NO_NUL)] = None,
    record_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Rows older than this seq.")
    ] = None,
) -> dict[str, object]:
    """Audit rows, newest first, within the caller's audit depth (administrators: all;
    managers: their business units). Page with ``before`` = the last row's ``seq``."""
    rows = audit_service.entries(
        session,
        actor=actor,
        table=table,
        record_id=record_id,
        actor_id=actor_id,
        limit=limit,
        before=before,
    )
    items = [AuditRead.model_validate(r) for r in rows]
    return {"items": items, "next_before": items[-1].seq if len(items) == limit else None}
