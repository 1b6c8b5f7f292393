"""``/api/v1/processes``: the business process flows, as data."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, status
from fastapi.responses import PlainTextResponse

from oppflow.api.deps import ActorDep, LanguageDep, SessionDep
from oppflow.api.examples import PROCESS_IMPORT
from oppflow.api.responses import CREATE, READ, problems
from oppflow.process import catalog
from oppflow.process.repository import ProcessRepository
from oppflow.process.schemas import ProcessDetail, ProcessImport, ProcessSummary, ProcessUpdate
from oppflow.schemas import NO_NUL

router = APIRouter(prefix="/processes", tags=["processes"])
Key = Annotated[str, Path(pattern=NO_NUL)]


@router.get("", responses=problems(401, 422))
async def list_processes(
    session: SessionDep,
    actor: ActorDep,
    language: LanguageDep,
    table: Annotated[Literal["opportunity", "lead"] | None, Query()] = None,
) -> dict[str, list[ProcessSummary]]:
    """Every process, in display order (the first active one is the default)."""
    processes = catalog.list_processes(session, table=table)
    return {"items": [catalog.summary(session, p, language) for p in processes]}


@router.post("", status_code=status.HTTP_201_CREATED, responses=CREATE)
async def import_process(
    session: SessionDep,
    actor: ActorDep,
    language: LanguageDep,
    data: Annotated[ProcessImport, Body(openapi_examples=PROCESS_IMPORT)],
) -> ProcessDetail:
    """Import a YAML definition: a new process, or a new version of the one with its key."""
    process = catalog.import_yaml(session, actor=actor, text=data.yaml)
    return catalog.detail(session, process, language)


@router.post("/validate", responses=problems(400, 401, 422))
async def validate_process(actor: ActorDep, data: ProcessImport) -> dict[str, object]:
    """Check a YAML definition without storing it; 422 says what is wrong and where."""
    definition = catalog.validate_yaml(data.yaml)
    return {"valid": True, "key": definition.key, "stages": [s.key for s in definition.stages]}


@router.get("/{key}", responses=READ)
async def get_process(
    session: SessionDep, actor: ActorDep, key: Key, language: LanguageDep
) -> ProcessDetail:
    return catalog.detail(session, ProcessRepository(session).by_key(key), language)


@router.get("/{key}/yaml", response_class=PlainTextResponse, responses=READ)
async def export_process(session: SessionDep, actor: ActorDep, key: Key) -> str:
    """The current version's YAML, as imported."""
    return catalog.export_yaml(session, key)


@router.patch("/{key}", responses=problems(400, 401, 403, 404, 409, 422))
async def update_process(
    session: SessionDep, actor: ActorDep, key: Key, data: ProcessUpdate, language: LanguageDep
) -> ProcessSummary:
    """Activate, deactivate or reorder a process (system administrators only)."""
    process = catalog.update_process(session, actor=actor, key=key, data=data)
    return catalog.summary(session, process, language)
