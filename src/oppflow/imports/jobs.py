"""Saved mappings and import jobs, for the API and the pages: the rules. The worker runs the
jobs (``imports/runner.py``); these only store, check and queue them.

A job's file is kept in the file store (local directory or S3) by its SHA-256, so whichever
host's worker claims the job reads the same bytes.
"""

from __future__ import annotations

import codecs
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from oppflow.config import get_settings
from oppflow.errors import Conflict, NotFound, ValidationFailed
from oppflow.imports.mapping import SYNONYMS, auto_mapping
from oppflow.imports.opportunities import may_backdate
from oppflow.imports.reading import UnreadableFile, read_rows
from oppflow.imports.repository import ImportRepository
from oppflow.imports.schemas import MAX_COLUMNS, MappingCreate
from oppflow.imports.service import CREATORS, require_allowed
from oppflow.models import ImportJob, ImportMapping
from oppflow.related.storage import Blob, FileStore
from oppflow.security.actor import Actor

MAX_MAPPINGS = 100
MAX_FILE_NAME = 200
STARTABLE = ("draft",)


def tables() -> list[str]:
    """The tables a file can be imported into: those with a creator and known fields."""
    return sorted(table for table in CREATORS if table in SYNONYMS)


def tables_for(actor: Actor) -> list[str]:
    """The tables ``actor`` may import into (history is for administrators)."""
    return [table for table in tables() if table != "history" or actor.is_admin]


def fields_of(table: str) -> list[str]:
    return list(SYNONYMS[check_table(table)])


def max_upload_bytes() -> int:
    """The largest import file an upload may carry (``OPPFLOW_MAX_IMPORT_BYTES``): beyond an
    attachment's limit, since a file of a million rows passes 100 MB."""
    return get_settings().max_import_bytes


def check_table(table: str) -> str:
    if table not in tables():
        known = ", ".join(tables())
        raise ValidationFailed(f"table: one of {known}.", field="table")
    return table


def check_columns(table: str, columns: Mapping[str, str]) -> dict[str, str]:
    """``columns`` without its unmapped (blank) entries, each field known and filled once."""
    kept = {header: field for header, field in columns.items() if field}
    known = set(fields_of(table))
    unknown = sorted(set(kept.values()) - known)
    if unknown:
        raise ValidationFailed(
            f"columns: {', '.join(unknown)[:200]} is not a field of {table}.", field="columns"
        )
    if len(set(kept.values())) < len(kept):
        raise ValidationFailed("columns: two columns fill the same field.", field="columns")
    if len(kept) > MAX_COLUMNS:
        raise ValidationFailed(f"columns: at most {MAX_COLUMNS}.", field="columns")
    return kept


# Saved mappings


def list_mappings(
    session: Session, *, actor: Actor, table: str | None = None
) -> list[ImportMapping]:
    return ImportRepository(session, actor).mappings(table)


def get_mapping(session: Session, *, actor: Actor, mapping_id: uuid.UUID) -> ImportMapping:
    return ImportRepository(session, actor).mapping(mapping_id)


def save_mapping(session: Session, *, actor: Actor, data: MappingCreate) -> ImportMapping:
    """Save a mapping under a name of the actor's; saving an existing name replaces it."""
    columns = check_columns(check_table(data.table), data.columns)
    if not columns:
        raise ValidationFailed("columns: map at least one column.", field="columns")
    repository = ImportRepository(session, actor)
    found = repository.own_mapping_named(data.name)
    if found is not None:
        found.table, found.columns = data.table, columns
        session.flush()
        return found
    if len(ImportRepository(session, actor).mappings()) >= MAX_MAPPINGS and not actor.is_admin:
        raise ValidationFailed(f"name: at most {MAX_MAPPINGS} saved mappings each.", field="name")
    mapping = ImportMapping(
        owner_id=actor.user_id, name=data.name, table=data.table, columns=columns
    )
    repository.add(mapping)
    return mapping


def delete_mapping(session: Session, *, actor: Actor, mapping_id: uuid.UUID) -> None:
    repository = ImportRepository(session, actor)
    repository.delete(repository.mapping(mapping_id))


# Jobs


@dataclass(frozen=True)
class JobRequest:
    """What an upload asks: the table, and the mapping (saved, given, or the headers' own)."""

    table: str
    mapping_id: uuid.UUID | None = None
    columns: Mapping[str, str] | None = None
    dry_run: bool = False


def create_job(
    session: Session,
    *,
    actor: Actor,
    request: JobRequest,
    blob: Blob,
    file_name: str,
    store: FileStore,
    queue: bool = True,
) -> ImportJob:
    """Keep the uploaded file and record its job: queued for the worker, or a draft whose
    mapping the page will ask for (``queue=False``)."""
    check_table(request.table)
    # Refused now, not when the worker runs the job: its owner hears it at once.
    require_allowed(actor, request.table)
    check_text(blob.head)
    headers = headers_of(blob.path)
    columns = _chosen_columns(session, actor, request, headers)
    store.keep(blob)
    job = ImportJob(
        owner_id=actor.user_id,
        table=request.table,
        file_name=_file_name(file_name),
        file_sha256=blob.sha256,
        headers=headers[:MAX_COLUMNS],
        mapping=columns,
        dry_run=request.dry_run,
        status="queued" if queue else "draft",
    )
    ImportRepository(session, actor).add(job)
    return job


def check_text(head: bytes) -> None:
    """Refuse a binary file (a NUL byte outside UTF-16), which cp1252 would read as text."""
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in head and not utf16:
        raise ValidationFailed("file: not text: CSV or JSON lines are expected.", field="file")


def headers_of(path: Path) -> list[str]:
    try:
        headers, rows = read_rows(path)
    except UnreadableFile as error:
        raise ValidationFailed(f"file: {error}.", field="file") from None
    close = getattr(rows, "close", None)
    if close is not None:
        close()  # the generator holds the file open
    return headers


def _chosen_columns(
    session: Session, actor: Actor, request: JobRequest, headers: list[str]
) -> dict[str, str]:
    if request.mapping_id is not None:
        try:
            saved = ImportRepository(session, actor).mapping(request.mapping_id)
        except NotFound:
            raise ValidationFailed(
                "mapping_id: no such saved mapping.", field="mapping_id"
            ) from None
        if saved.table != request.table:
            raise ValidationFailed(
                f"mapping_id: that mapping is for {saved.table}.", field="mapping_id"
            )
        return dict(saved.columns)
    if request.columns is not None:
        return check_columns(request.table, request.columns)
    return auto_mapping(request.table, headers, may_backdate=may_backdate(actor))


def parse_columns(text: str) -> dict[str, str]:
    """A mapping sent as JSON text (a multipart field): an object of header -> field."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ValidationFailed("mapping: not JSON.", field="mapping") from None
    valid = isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    )
    if not valid:
        raise ValidationFailed(
            'mapping: a JSON object of column -> field, e.g. {"Account Name": "name"}.',
            field="mapping",
        )
    return dict(value)


def _file_name(name: str) -> str:
    cleaned = "".join(c for c in name if c.isprintable()).replace("/", "_").replace("\\", "_")
    return cleaned.strip()[:MAX_FILE_NAME] or "import"


def list_jobs(session: Session, *, actor: Actor, limit: int = 50) -> list[ImportJob]:
    return ImportRepository(session, actor).jobs(limit)


def get_job(session: Session, *, actor: Actor, job_id: uuid.UUID) -> ImportJob:
    return ImportRepository(session, actor).job(job_id)


def start_job(
    session: Session,
    *,
    actor: Actor,
    job_id: uuid.UUID,
    columns: Mapping[str, str],
    dry_run: bool,
) -> ImportJob:
    """Queue a draft with the mapping chosen on the page."""
    job = ImportRepository(session, actor).job(job_id)
    if job.status not in STARTABLE:
        raise ValidationFailed("This import has already been started.")
    kept = check_columns(job.table, {h: f for h, f in columns.items() if h in job.headers})
    if not kept:
        raise ValidationFailed("columns: map at least one column.", field="columns")
    job.mapping, job.dry_run, job.status = kept, dry_run, "queued"
    session.flush()
    return job


def report_path(session: Session, *, actor: Actor, job_id: uuid.UUID, store: FileStore) -> Path:
    """The job's report (CSV: row, column, value, why) in the file store."""
    job = ImportRepository(session, actor).job(job_id)
    if job.report_sha256 is None:
        raise Conflict("This import has no report: it has not finished, or it failed.")
    return store.open_path(job.report_sha256)


def job_request(fields: Mapping[str, str]) -> JobRequest:
    """What the upload's text fields ask (multipart: ``table``, ``mapping_id`` or ``mapping``,
    ``dry_run``)."""
    table = check_table(fields.get("table", "").strip())
    mapping_id, text = fields.get("mapping_id", "").strip(), fields.get("mapping", "").strip()
    if mapping_id and text:
        raise ValidationFailed("Send mapping_id or mapping, not both.", field="mapping")
    dry_run = fields.get("dry_run", "false").strip().lower()
    if dry_run not in ("true", "false"):
        raise ValidationFailed("dry_run: true or false.", field="dry_run")
    return JobRequest(
        table=table,
        mapping_id=_uuid(mapping_id, "mapping_id") if mapping_id else None,
        columns=parse_columns(text) if text else None,
        dry_run=dry_run == "true",
    )


def _uuid(text: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationFailed(f"{name}: not an id.", field=name) from None
