"""Rules on files attached to opportunities: who may upload, read and delete them.

The bytes are received by the edge into the file store (:mod:`oppflow.related.storage`) before
:func:`add_file` checks and keeps them; only metadata goes to the database. A file is reachable
only through a readable opportunity, so its content is served to those who can read the
opportunity and to no one else (404 otherwise).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from oppflow import audit
from oppflow.clock import utcnow
from oppflow.errors import OppflowError
from oppflow.imports.repository import JobQueue
from oppflow.models import Opportunity, OpportunityFile
from oppflow.related.content import clean_name, content_type
from oppflow.related.repository import FileRepository
from oppflow.related.storage import GRACE, Blob, FileStore
from oppflow.sales.repository import OpportunityRepository
from oppflow.security.actor import Actor
from oppflow.security.scope import require

log = logging.getLogger(__name__)


def check_upload(session: Session, *, actor: Actor, opportunity_id: uuid.UUID) -> Opportunity:
    """Refuse an upload before its bytes are read: the opportunity must be readable (404) and
    the actor allowed to create files and to append to it (403)."""
    actor.require("file", "create")
    opportunity = OpportunityRepository(session, actor).get(opportunity_id)
    require(session, actor, "append", opportunity)
    return opportunity


def add_file(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    blob: Blob,
    name: str,
    declared_type: str | None,
    store: FileStore,
) -> OpportunityFile:
    """Keep received bytes as a file of the opportunity, once its name and content pass."""
    opportunity = check_upload(session, actor=actor, opportunity_id=opportunity_id)
    clean = clean_name(name)
    media_type = content_type(clean, declared_type, blob)
    store.keep(blob)
    record = OpportunityFile(
        opportunity_id=opportunity.id,
        name=clean,
        content_type=media_type,
        size=blob.size,
        sha256=blob.sha256,
        uploaded_by_id=actor.user_id,
    )
    FileRepository(session, actor).add(record)
    _log(session, "upload_file", opportunity.id, {"file": [None, f"{record.id}:{clean}"]})
    return record


def attach_bytes(
    session: Session,
    *,
    actor: Actor,
    opportunity_id: uuid.UUID,
    name: str,
    content: bytes,
    store: FileStore,
    declared_type: str | None = None,
) -> OpportunityFile:
    """Attach bytes held in memory (scripts, the demo data), with the checks of an upload."""
    check_upload(session, actor=actor, opportunity_id=opportunity_id)
    writer = store.writer()
    try:
        writer.write(content)
    except BaseException:
        writer.discard()
        raise
    blob = writer.finish()
    try:
        return add_file(
            session,
            actor=actor,
            opportunity_id=opportunity_id,
            blob=blob,
            name=name,
            declared_type=declared_type,
            store=store,
        )
    finally:
        blob.path.unlink(missing_ok=True)  # gone already when the store kept it


def list_files(
    session: Session, *, actor: Actor, opportunity_id: uuid.UUID
) -> list[OpportunityFile]:
    OpportunityRepository(session, actor).get(opportunity_id)
    return FileRepository(session, actor).for_opportunity(opportunity_id)


def get_file(session: Session, *, actor: Actor, file_id: uuid.UUID) -> OpportunityFile:
    return FileRepository(session, actor).get(file_id)


def file_content(
    session: Session, *, actor: Actor, file_id: uuid.UUID, store: FileStore
) -> tuple[OpportunityFile, Path]:
    """A readable file and the path of its bytes."""
    record = FileRepository(session, actor).get(file_id)
    return record, store.open_path(record.sha256)


def delete_file(session: Session, *, actor: Actor, file_id: uuid.UUID, store: FileStore) -> None:
    """Delete a file: its uploader needs append on the opportunity, anyone else write.

    The bytes are removed once the deletion is committed, unless another file or an import
    job has them too, or they were kept again within ``GRACE``: an upload of the same bytes
    whose file is not committed yet. The retention prune's sweep removes those later if
    nothing came to name them.
    """
    # Taken before the query of who else names the bytes, so that an upload it cannot see
    # yet kept them after this time.
    kept_since = utcnow() - GRACE
    repository = FileRepository(session, actor)
    record = repository.get(file_id)
    actor.require("file", "delete")
    opportunity = OpportunityRepository(session, actor).get(record.opportunity_id)
    require(
        session, actor, "append" if record.uploaded_by_id == actor.user_id else "write", opportunity
    )
    repository.delete(record)
    _log(session, "delete_file", opportunity.id, {"file": [f"{record.id}:{record.name}", None]})
    if not _named_elsewhere(session, repository, record.sha256):
        _remove_after_commit(session, store, record.sha256, kept_since)


def _named_elsewhere(session: Session, files: FileRepository, sha256: str) -> bool:
    """Whether another file, or an import job's upload or report, has these bytes: the store
    keeps one content for all."""
    return files.count_with_content(sha256) > 0 or bool(JobQueue(session).contents_in_use({sha256}))


def _remove_after_commit(
    session: Session, store: FileStore, sha256: str, kept_since: datetime
) -> None:
    # Only once the deletion is durable: a rolled-back request must still find its bytes.
    # And never bytes kept since ``kept_since``: who names them was asked of the database,
    # which cannot see an upload of the same bytes whose row is not committed yet, but its
    # keep refreshed their time (decision 0027). The prune's sweep takes them if unnamed.
    def remove(_session: Session) -> None:
        try:
            store.remove_unless_kept_since(sha256, kept_since)
        except (OppflowError, OSError) as exc:
            # The deletion is committed: answering an error would say it was not. The prune's
            # sweep removes the bytes once the store answers again.
            log.warning("removing the bytes of a deleted file, left to the sweep: %s", exc)

    event.listen(session, "after_commit", remove, once=True)


def _log(
    session: Session, action: str, opportunity_id: uuid.UUID, changes: dict[str, list[str | None]]
) -> None:
    audit.record(session, action, table="opportunities", record_id=opportunity_id, changes=changes)
