"""``oppflow export TABLE``: a table as the user may read it, as CSV or JSON lines, on stdout or
in a file (with a progress bar on stderr). Rows are read a page at a time (decision 0021)."""

from __future__ import annotations

import sys
import uuid
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import Progress
from sqlalchemy.orm import Session

from oppflow.console import AsUser, as_actor, err, fail, unit
from oppflow.db import unit_of_work
from oppflow.exports import service
from oppflow.exports.service import ExportRequest, Format, Plan
from oppflow.exports.tables import TABLES
from oppflow.security.repository import UserRepository


def register(app: typer.Typer) -> None:
    app.command("export")(export_table)


def export_table(
    table: Annotated[str, typer.Argument(help=f"One of: {', '.join(TABLES)}.")],
    user: AsUser,
    output_format: Annotated[Format, typer.Option("--format", help="csv or jsonl.")] = "csv",
    dataverse_names: Annotated[
        bool, typer.Option("--dataverse-names", help="Name columns as Dataverse does.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="File (else stdout).")
    ] = None,
    filters: Annotated[
        list[str] | None, typer.Option("--filter", help="field=value (API field names).")
    ] = None,
    state: Annotated[str | None, typer.Option(help="Only rows in this state.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only rows owned by this user.")] = None,
    modified_since: Annotated[
        datetime | None, typer.Option(help="Only rows changed since (UTC if no zone).")
    ] = None,
) -> None:
    """Export every row of TABLE that the user may read, meeting every filter."""
    with unit(read_only=True) as session:
        actor = as_actor(session, user)
        asked = ExportRequest(
            table=table,
            format=output_format,
            dataverse_names=dataverse_names,
            filters=filters or [],
            state=state,
            owner_id=_owner_id(session, owner),
            modified_since=modified_since,
        )
        plan = service.plan(actor, asked)
        total = service.count(session, plan) if output is not None else None
    _write(plan, output, total)


def _owner_id(session: Session, owner: str | None) -> uuid.UUID | None:
    """A user id, or the id of the user with that name."""
    if owner is None:
        return None
    try:
        return uuid.UUID(owner)
    except ValueError:
        found = UserRepository(session).find_by_username(owner)
    if found is None:
        fail(f"no user {owner!r}")
    return found.id


def _write(plan: Plan, output: Path | None, total: int | None) -> None:
    target = output.open("w", encoding="utf-8", newline="") if output else nullcontext(sys.stdout)
    try:
        with target as stream, Progress(console=err, transient=True, disable=not output) as bar:
            task = bar.add_task(f"exporting {plan.table.name}", total=total)
            _copy(plan, stream, lambda rows: bar.advance(task, rows))
    except OSError as error:
        fail(f"{output or 'stdout'}: {error.strerror}")


def _copy(plan: Plan, stream: TextIO, on_rows: service.RowsHeard) -> None:
    # A unit of work per page (decision 0021), as the API reads them.
    for chunk in service.stream(plan, lambda: unit_of_work(read_only=True), on_rows=on_rows):
        stream.write(chunk)
