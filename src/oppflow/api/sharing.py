"""``/{things}/{id}/assign`` and ``/{things}/{id}/shares`` on every owned table."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from oppflow.api.deps import ActorDep, IfMatchDep, SessionDep, set_etag
from oppflow.api.responses import CHANGE, READ, problems
from oppflow.sales import sharing
from oppflow.security.schemas import AssignRequest, ShareRead, ShareRequest


def ownership_router(things: str) -> APIRouter:
    """Assign and share routes for one owned table, e.g. ``opportunities``."""
    router = APIRouter(prefix=f"/{things}/{{record_id}}", tags=[things])

    @router.post("/assign", summary="Change the owner", responses=CHANGE)
    async def assign(
        session: SessionDep,
        actor: ActorDep,
        record_id: uuid.UUID,
        data: AssignRequest,
        response: Response,
        if_match: IfMatchDep,
    ) -> dict[str, object]:
        """Needs assign on the record; the new owner must be able to read such records."""
        record = sharing.assign(
            session,
            actor=actor,
            things=things,
            record_id=record_id,
            owner_id=data.owner_id,
            if_match=if_match,
        )
        set_etag(response, record.version)
        return {"id": record.id, "owner_id": record.owner_id, "version": record.version}

    @router.get("/shares", summary="Who the record is shared with", responses=READ)
    async def list_shares(
        session: SessionDep, actor: ActorDep, record_id: uuid.UUID
    ) -> dict[str, list[ShareRead]]:
        rows = sharing.list_shares(session, actor=actor, things=things, record_id=record_id)
        return {"items": [ShareRead.model_validate(r) for r in rows]}

    @router.post(
        "/shares",
        status_code=status.HTTP_201_CREATED,
        summary="Share the record",
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def share(
        session: SessionDep, actor: ActorDep, record_id: uuid.UUID, data: ShareRequest
    ) -> dict[str, list[ShareRead]]:
        """Grant a user or team chosen actions; you can share only what you may do."""
        sharing.share(
            session,
            actor=actor,
            things=things,
            record_id=record_id,
            principal_type=data.principal_type,
            principal_id=data.principal_id,
            actions=list(data.actions),
        )
        rows = sharing.list_shares(session, actor=actor, things=things, record_id=record_id)
        return {"items": [ShareRead.model_validate(r) for r in rows]}

    @router.delete(
        "/shares/{share_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Withdraw a shared action",
        responses=problems(401, 403, 404, 409, 422),
    )
    async def unshare(
        session: SessionDep, actor: ActorDep, record_id: uuid.UUID, share_id: uuid.UUID
    ) -> None:
        sharing.unshare(session, actor=actor, things=things, record_id=record_id, share_id=share_id)

    return router
