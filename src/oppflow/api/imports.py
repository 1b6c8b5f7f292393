"""``/api/v1/import-mappings`` (saved column mappings) and ``/api/v1/imports`` (import jobs the
worker runs: upload, progress, report)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse

from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.files import content_disposition
from oppflow.api.responses import READ, Responses, problem, problems
from oppflow.api.uploads import receive_upload
from oppflow.errors import ValidationFailed
from oppflow.imports import jobs
from oppflow.imports.schemas import JobRead, MappingCreate, MappingRead
from oppflow.related.storage import FileStore, default_store

router = APIRouter(tags=["imports"])
StoreDep = Annotated[FileStore, Depends(default_store)]
# The text fields of an import's upload beside its file, with their largest sizes.
FIELDS = {"table": 40, "mapping_id": 40, "mapping": 64 * 1024, "dry_run": 8}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "table"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV (any delimiter and encoding, with a header row) "
                            "or JSON lines.",
                        },
                        "table": {
                            "type": "string",
                            "pattern": "^[a-z_]{1,40}$",
                            "description": "What the rows create: accounts, contacts, …",
                        },
                        "mapping_id": {
                            "type": "string",
                            "format": "uuid",
                            "description": "A saved mapping (/api/v1/import-mappings) to use.",
                        },
                        "mapping": {
                            "type": "string",
                            "maxLength": FIELDS["mapping"],
                            "description": 'Or the mapping itself, as JSON: {"Column": "field"}. '
                            "Without either, headers naming a field map themselves.",
                        },
                        "dry_run": {
                            "type": "string",
                            "enum": ["true", "false"],
                            "description": "true: check every row, create nothing.",
                        },
                    },
                }
            }
        },
    }
}
ACCEPTED: Responses = {
    202: {
        "description": "Queued: the worker will run it. Location is the job, to follow.",
        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
    },
    **problems(400, 401, 415),
    403: problem(403, "History (dated stage changes) is imported by administrators only."),
    413: problem(413, "The file is larger than OPPFLOW_MAX_IMPORT_BYTES (1 GiB by default)."),
    422: problem(
        422,
        "No file or table, a file that is neither CSV with a header nor JSON lines, an unknown "
        "table or field, or a mapping that is not a saved one of the caller's.",
    ),
}
REPORT: Responses = {
    200: {
        "description": "One line per refused cell or row: row, column, value, why.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **problems(401, 404, 409, 422),
}


def only_query(*names: str) -> Any:
    """A dependency refusing query parameters other than ``names``: a misspelt filter is an
    error, not a silent list of everything."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            raise ValidationFailed(f"Unknown query parameter {unknown[0][:40]!r}.")

    return Depends(check)


@router.get("/import-mappings", responses=problems(401, 422), dependencies=[only_query("table")])
async def list_mappings(
    session: SessionDep,
    actor: ActorDep,
    table: Annotated[str | None, Query(pattern="^[a-z_]{1,40}$")] = None,
) -> dict[str, list[MappingRead]]:
    """The caller's saved mappings (everyone's for an administrator), by name."""
    found = jobs.list_mappings(session, actor=actor, table=table)
    return {"items": [MappingRead.model_validate(one) for one in found]}


@router.post(
    "/import-mappings", status_code=status.HTTP_201_CREATED, responses=problems(400, 401, 422)
)
async def create_mapping(session: SessionDep, actor: ActorDep, data: MappingCreate) -> MappingRead:
    """Save a mapping of columns to fields under a name (an existing name of the caller's is
    replaced)."""
    return MappingRead.model_validate(jobs.save_mapping(session, actor=actor, data=data))


@router.get("/import-mappings/{mapping_id}", responses=READ)
async def get_mapping(session: SessionDep, actor: ActorDep, mapping_id: uuid.UUID) -> MappingRead:
    """One saved mapping (404 unless it is the caller's, or the caller is an administrator)."""
    return MappingRead.model_validate(jobs.get_mapping(session, actor=actor, mapping_id=mapping_id))


@router.delete(
    "/import-mappings/{mapping_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=READ,
)
async def delete_mapping(session: SessionDep, actor: ActorDep, mapping_id: uuid.UUID) -> None:
    """Delete a saved mapping."""
    jobs.delete_mapping(session, actor=actor, mapping_id=mapping_id)


@router.post(
    "/imports",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=UPLOAD_BODY,
    responses=ACCEPTED,
)
async def create_import(
    request: Request, response: Response, session: SessionDep, actor: ActorDep, store: StoreDep
) -> JobRead:
    """Upload a file to import as the caller; the worker runs it (``oppflow worker``, or the
    server's own thread on SQLite). Follow the job at Location; its report comes at the end."""
    upload = await receive_upload(request, store, FIELDS, limit=jobs.max_upload_bytes())
    try:
        job = jobs.create_job(
            session,
            actor=actor,
            request=jobs.job_request(upload.fields),
            blob=upload.blob,
            file_name=upload.filename,
            store=store,
        )
    finally:
        upload.blob.path.unlink(missing_ok=True)  # gone already when the store kept it
    response.headers["Location"] = f"/api/v1/imports/{job.id}"
    return JobRead.model_validate(job)


@router.get("/imports", responses=problems(401, 422), dependencies=[only_query("limit")])
async def list_imports(
    session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, list[JobRead]]:
    """The caller's import jobs (everyone's for an administrator), newest first."""
    found = jobs.list_jobs(session, actor=actor, limit=limit)
    return {"items": [JobRead.model_validate(one) for one in found]}


@router.get("/imports/{import_id}", responses=READ)
async def get_import(session: SessionDep, actor: ActorDep, import_id: uuid.UUID) -> JobRead:
    """A job: its status, and its progress (``rows_done`` of ``rows_total``) while it runs."""
    return JobRead.model_validate(jobs.get_job(session, actor=actor, job_id=import_id))


@router.get("/imports/{import_id}/report", response_class=FileResponse, responses=REPORT)
async def import_report(
    session: SessionDep, actor: ActorDep, import_id: uuid.UUID, store: StoreDep
) -> FileResponse:
    """The refused rows of a finished job, as CSV (409 until it has finished)."""
    path = jobs.report_path(session, actor=actor, job_id=import_id, store=store)
    return report_response(path, import_id)


def report_response(path: Path, import_id: uuid.UUID) -> FileResponse:
    """A job's report as a CSV download (the API's and the page's)."""
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(f"import-{import_id}-report.csv"),
            "Cache-Control": "private, no-cache",
        },
    )
