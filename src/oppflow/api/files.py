"""``/api/v1/opportunities/{id}/files`` (upload, list) and ``/api/v1/files/{id}`` (metadata,
content, delete)."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import FileResponse

from oppflow.api.deps import ActorDep, SessionDep
from oppflow.api.responses import READ, Responses, problem, problems
from oppflow.api.uploads import receive_upload
from oppflow.related import files
from oppflow.related.content import TYPES
from oppflow.related.schemas import FileRead
from oppflow.related.storage import FileStore, default_store
from oppflow.schemas import Page

router = APIRouter(tags=["files"])
StoreDep = Annotated[FileStore, Depends(default_store)]

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The file; accepted types: "
                            + ", ".join(sorted(TYPES))
                            + ".",
                        },
                        "name": {
                            "type": "string",
                            "maxLength": 200,
                            "description": "The name to keep instead of the uploaded one.",
                        },
                    },
                }
            }
        },
    }
}
UPLOAD_RESPONSES: Responses = {
    **problems(401, 409),
    403: problem(403, "The caller may read the opportunity but not append to it."),
    404: problem(404, "No such opportunity, or not readable."),
    413: problem(413, "The file is larger than OPPFLOW_MAX_UPLOAD_BYTES (25 MB by default)."),
    415: problem(
        415,
        "Not multipart, an executable, a type outside the allow-list, or bytes that do not "
        "match the extension or the declared type.",
    ),
    422: problem(
        422,
        "No file, an empty file, a malformed body, or a name with a path or control characters.",
    ),
}
# Served as the type it was accepted as: one of the allow-list's.
CONTENT_RESPONSES: Responses = {
    200: {
        "description": "The file's bytes, as an attachment.",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in sorted({kind.media_type for kind in TYPES.values()})
        },
    },
    **problems(401, 404, 422),
}


@router.post(
    "/opportunities/{opportunity_id}/files",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_BODY,
    responses=UPLOAD_RESPONSES,
    tags=["opportunities"],
)
async def upload_file(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    opportunity_id: uuid.UUID,
    store: StoreDep,
) -> FileRead:
    """Attach a file (multipart ``file`` part, optional ``name`` field) to the opportunity.

    The content is stored once per SHA-256 under ``OPPFLOW_FILES_DIR``; the name is kept as
    given, without any path; the type is checked against the bytes."""
    files.check_upload(session, actor=actor, opportunity_id=opportunity_id)
    upload = await receive_upload(request, store)
    try:
        record = files.add_file(
            session,
            actor=actor,
            opportunity_id=opportunity_id,
            blob=upload.blob,
            name=upload.filename,
            declared_type=upload.content_type,
            store=store,
        )
    finally:
        upload.blob.path.unlink(missing_ok=True)  # gone already when the store kept it
    return FileRead.model_validate(record)


@router.get("/opportunities/{opportunity_id}/files", tags=["opportunities"], responses=READ)
async def list_files(
    session: SessionDep, actor: ActorDep, opportunity_id: uuid.UUID
) -> Page[FileRead]:
    """The files of the opportunity, oldest first (metadata; the bytes are at
    ``/api/v1/files/{id}/content``)."""
    rows = files.list_files(session, actor=actor, opportunity_id=opportunity_id)
    return Page(items=[FileRead.model_validate(row) for row in rows])


@router.get("/files/{file_id}", responses=READ)
async def get_file(session: SessionDep, actor: ActorDep, file_id: uuid.UUID) -> FileRead:
    """One file's metadata (404 unless its opportunity is readable)."""
    return FileRead.model_validate(files.get_file(session, actor=actor, file_id=file_id))


@router.get("/files/{file_id}/content", response_class=FileResponse, responses=CONTENT_RESPONSES)
async def download_file(
    session: SessionDep, actor: ActorDep, file_id: uuid.UUID, store: StoreDep
) -> FileResponse:
    """Download a file, as an attachment under its name (RFC 6266 ``filename*``)."""
    record, path = files.file_content(session, actor=actor, file_id=file_id, store=store)
    return FileResponse(
        path,
        media_type=_served_type(record.content_type),
        # Always an attachment, never rendered in the page; the security headers middleware
        # adds X-Content-Type-Options: nosniff and a strict Content-Security-Policy.
        headers={
            "Content-Disposition": content_disposition(record.name),
            "Cache-Control": "private, no-cache",
        },
    )


@router.delete(
    "/files/{file_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 409, 422),
)
async def delete_file(
    session: SessionDep, actor: ActorDep, file_id: uuid.UUID, store: StoreDep
) -> None:
    """Delete a file: its uploader needs append on the opportunity, anyone else write."""
    files.delete_file(session, actor=actor, file_id=file_id, store=store)


def _served_type(media_type: str) -> str:
    return f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name as UTF-8 ``filename*``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in ascii_name)
    return (
        f'attachment; filename="{fallback.strip() or "file"}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
