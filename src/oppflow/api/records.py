"""``/api/v1/accounts``, ``/contacts`` and ``/competitors``: plain records, one router shape."""

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from oppflow.api.deps import ActorDep, IfMatchDep, SessionDep, set_etag
from oppflow.api.responses import CHANGE, CREATE, DELETE, LIST, READ
from oppflow.repository import MAX_PAGE, RecordRepository
from oppflow.sales import service
from oppflow.sales.repository import AccountRepository, CompetitorRepository, ContactRepository
from oppflow.sales.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    CompetitorCreate,
    CompetitorRead,
    CompetitorUpdate,
    ContactCreate,
    ContactRead,
    ContactUpdate,
)
from oppflow.schemas import NO_NUL, Page

Search = Annotated[
    str | None, Query(max_length=100, pattern=NO_NUL, description="Text in the name.")
]


def record_router(
    path: str,
    repository: type[RecordRepository[Any]],
    schemas: tuple[type[BaseModel], type[BaseModel], type[BaseModel]],
    create: Callable[..., Any],
    update: Callable[..., Any],
) -> APIRouter:
    """List, create, get, patch and delete for one table of plain records."""
    create_schema, update_schema, read_schema = schemas
    router = APIRouter(prefix=f"/{path}", tags=[path])
    label = repository.label

    @router.get("", summary=f"List {path}", responses=LIST)
    async def list_records(
        session: SessionDep,
        actor: ActorDep,
        q: Search = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Page[read_schema]:  # type: ignore[valid-type]
        items, next_cursor = repository(session, actor).page_answers(
            read_schema, {"q": q}, limit=limit, cursor=cursor
        )
        return Page(items=items, next_cursor=next_cursor)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary=f"Create a {label}",
        responses=CREATE,
    )
    async def create_record(
        session: SessionDep,
        actor: ActorDep,
        data: create_schema,  # type: ignore[valid-type]
        response: Response,
    ) -> read_schema:  # type: ignore[valid-type]
        record = create(session, actor=actor, data=data)
        set_etag(response, record.version)
        return read_schema.model_validate(record)

    @router.get("/{record_id}", summary=f"Get a {label}", responses=READ)
    async def get_record(
        session: SessionDep, actor: ActorDep, record_id: uuid.UUID, response: Response
    ) -> read_schema:  # type: ignore[valid-type]
        record = repository(session, actor).get_answer(record_id, read_schema)
        set_etag(response, record.version)  # type: ignore[attr-defined]
        return record

    @router.patch("/{record_id}", summary=f"Change a {label}", responses=CHANGE)
    async def update_record(
        session: SessionDep,
        actor: ActorDep,
        record_id: uuid.UUID,
        data: update_schema,  # type: ignore[valid-type]
        response: Response,
        if_match: IfMatchDep,
    ) -> read_schema:  # type: ignore[valid-type]
        record = update(session, actor=actor, record_id=record_id, data=data, if_match=if_match)
        set_etag(response, record.version)
        return read_schema.model_validate(record)

    @router.delete(
        "/{record_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary=f"Delete a {label}",
        responses=DELETE,
    )
    async def delete_record(
        session: SessionDep, actor: ActorDep, record_id: uuid.UUID, if_match: IfMatchDep
    ) -> None:
        service.delete_record(
            session, actor=actor, table=path, record_id=record_id, if_match=if_match
        )

    return router


accounts = record_router(
    "accounts",
    AccountRepository,
    (AccountCreate, AccountUpdate, AccountRead),
    service.create_account,
    lambda session, actor, record_id, data, if_match: service.update_account(
        session, actor=actor, account_id=record_id, data=data, if_match=if_match
    ),
)
contacts = record_router(
    "contacts",
    ContactRepository,
    (ContactCreate, ContactUpdate, ContactRead),
    service.create_contact,
    lambda session, actor, record_id, data, if_match: service.update_contact(
        session, actor=actor, contact_id=record_id, data=data, if_match=if_match
    ),
)
competitors = record_router(
    "competitors",
    CompetitorRepository,
    (CompetitorCreate, CompetitorUpdate, CompetitorRead),
    service.create_competitor,
    lambda session, actor, record_id, data, if_match: service.update_competitor(
        session, actor=actor, competitor_id=record_id, data=data, if_match=if_match
    ),
)
