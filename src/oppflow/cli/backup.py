"""``oppflow backup FILE`` and ``oppflow restore FILE``: the database named by the settings and
the stored files, in one archive; a restore goes into an empty database only, then says what it
verified. Anything that stops them is one line and exit 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from oppflow.backup import service
from oppflow.backup.database import BackupError
from oppflow.console import err, fail, out
from oppflow.db import get_engine
from oppflow.related.storage import default_store

Archive = Annotated[Path, typer.Argument(help="The archive (.tar.gz).", dir_okay=False)]


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)


def backup(
    archive: Archive,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing archive.")] = False,
) -> None:
    """Back up the database (a consistent copy while the server runs) and the stored files."""
    if archive.exists() and not force:
        fail(f"{archive} exists; choose another name or pass --force")
    with _Spinner("Backing up") as step:
        try:
            manifest = service.backup(get_engine(), default_store(), archive, step)
        except (BackupError, OSError) as exc:
            archive.unlink(missing_ok=True)
            fail(escape(str(exc)))
    rows = sum(manifest.tables.values())
    out.print(
        f"{archive}: {rows} rows in {len(manifest.tables)} tables, {len(manifest.files)} files"
    )


def restore(archive: Archive) -> None:
    """Restore an archive into an empty database and file store, then verify the row counts
    and the files' checksums against the archive's manifest."""
    if not archive.is_file():
        fail(f"{archive} does not exist")
    with _Spinner("Restoring") as step:
        try:
            verified = service.restore(get_engine(), default_store(), archive, step)
        except (BackupError, OSError) as exc:
            fail(escape(str(exc)))
    out.print(
        f"restored and verified: {verified.rows} rows in {verified.tables} tables, "
        f"{verified.files} files with their checksums"
    )


class _Spinner:
    """A spinner on standard error naming what is being copied."""

    def __init__(self, title: str) -> None:
        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
        )
        self.task = self.bar.add_task(title)
        self.title = title

    def __enter__(self) -> Callable[[str], None]:
        self.bar.start()
        return lambda what: self.bar.update(self.task, description=f"{self.title}: {what}")

    def __exit__(self, *_: object) -> None:
        self.bar.stop()
