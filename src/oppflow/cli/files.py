"""``oppflow files migrate --to URL``: copy every stored content from the configured store
(``OPPFLOW_FILES_URL`` or ``OPPFLOW_FILES_DIR``) to another, local or S3-compatible, checking
each content against its SHA-256; what the target has already is skipped, so a run that was
interrupted is simply run again. ``oppflow files prune``: delete the import jobs past their
retention, with their files, and the stored contents nothing names (``imports/retention.py``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from oppflow.console import err, fail, out
from oppflow.db import session_factory
from oppflow.errors import OppflowError
from oppflow.imports import retention
from oppflow.related.storage import (
    CHUNK,
    NO_LIMIT,
    FileStore,
    default_store,
    sha256_of,
    store_at,
)

files_app = typer.Typer(help="The file store (local directory or S3).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(files_app, name="files")


@files_app.command("migrate")
def migrate(
    to: Annotated[str, typer.Option("--to", help="file:///path or s3://bucket/prefix")],
) -> None:
    """Copy every stored file to another store; then point OPPFLOW_FILES_URL at it."""
    try:
        source, target = default_store(), store_at(to)
        wanted = list(source.stored())
        copied = _copy_all(source, target, wanted)
    except (OppflowError, ValueError, OSError) as exc:
        fail(escape(str(getattr(exc, "detail", exc))))
    out.print(f"{copied} copied, {len(wanted) - copied} already there: {target.url}")


@files_app.command("prune")
def prune(
    days: Annotated[
        int | None,
        typer.Option(min=0, help="Keep this many days (default OPPFLOW_FILE_RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Delete import jobs finished more than DAYS ago, with their files; and files nothing names."""
    try:
        pruned = retention.prune_as_configured(session_factory(), days=days)
    except (OppflowError, OSError) as exc:
        fail(escape(str(getattr(exc, "detail", exc))))
    out.print(f"{pruned.jobs} import jobs and {pruned.files} stored files deleted")


def _copy_all(source: FileStore, target: FileStore, wanted: list[str]) -> int:
    copied = 0
    columns = (TextColumn("files"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("files", total=len(wanted))
        for sha256 in wanted:
            if not target.has(sha256):
                _copy(source, target, sha256)
                copied += 1
            progress.advance(task)
    return copied


def _copy(source: FileStore, target: FileStore, sha256: str) -> None:
    path = source.open_path(sha256)
    if sha256_of(path) != sha256:
        raise ValueError(f"the stored file {sha256} does not match its checksum")
    writer = target.writer(NO_LIMIT)
    with path.open("rb") as content:
        while chunk := content.read(CHUNK):
            writer.write(chunk)
    target.keep(writer.finish())
