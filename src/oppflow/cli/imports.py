"""``oppflow import TABLE FILE``: rows of a CSV or JSON-lines file created as the user would.

Refused rows go to a report (row, column, value, why) and change nothing; the rest are created
in batches committed as they go (``--dry-run`` rolls every batch back).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from oppflow.console import AsUser, as_actor, err, fail, out, unit
from oppflow.imports.mapping import auto_mapping
from oppflow.imports.reading import UnreadableFile, read_rows
from oppflow.imports.report import write_report
from oppflow.imports.service import CREATORS, import_rows


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)


def import_file(
    table: Annotated[str, typer.Argument(help="accounts or contacts.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON lines.")],
    user: AsUser,
    dry_run: Annotated[bool, typer.Option(help="Check every row, create nothing.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write refused rows here (CSV).")] = None,
) -> None:
    """Create records from a file; headers naming a field (API or Dataverse) map themselves."""
    if table not in CREATORS:
        fail(f"cannot import {table!r}: one of {', '.join(sorted(CREATORS))}")
    try:
        headers, rows = read_rows(file)
    except UnreadableFile as error:
        fail(f"{file}: {error}")
    mapping = auto_mapping(table, headers)
    ignored = [header for header in headers if header not in mapping]
    if ignored:
        err.print(f"ignored columns: {', '.join(ignored)}", highlight=False)
    with unit() as session, Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"importing {table}", total=None)
        result = import_rows(
            session,
            as_actor(session, user),
            table,
            rows,
            mapping,
            dry_run=dry_run,
            on_row=lambda number: progress.update(task, completed=number),
        )
    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as stream:
            write_report(result.problems, stream)
    verb = "would create" if dry_run else "created"
    refused = len({problem.row for problem in result.problems})
    summary = f"{verb} {result.created} {table}, {result.existing} already imported"
    out.print(f"{summary}, refused {refused} rows", highlight=False)
    if refused:
        raise typer.Exit(2)
