"""``oppflow import TABLE FILE``: rows of a CSV or JSON-lines file created as the user would.

Refused rows go to a report (row, column, value, why) and change nothing; the rest are created
in batches committed as they go (``--dry-run`` rolls every batch back). Each committed batch
records the run's progress, so ``--resume`` carries on after a crash or a kill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from oppflow.console import AsUser, as_actor, err, fail, out, unit
from oppflow.imports import bulk, runs
from oppflow.imports.mapping import auto_mapping
from oppflow.imports.opportunities import may_backdate
from oppflow.imports.reading import UnreadableFile, read_rows
from oppflow.imports.report import RowProblem, problem_writer
from oppflow.imports.service import CREATORS, ImportResult, require_allowed
from oppflow.models import ImportRun
from oppflow.security.actor import Actor


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)


def import_file(
    table: Annotated[
        str, typer.Argument(help="accounts, contacts, leads, opportunities or history.")
    ],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON lines.")],
    user: AsUser,
    dry_run: Annotated[bool, typer.Option(help="Check every row, create nothing.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write refused rows here (CSV).")] = None,
    resume: Annotated[
        bool, typer.Option(help="Carry on an import of this file that stopped.")
    ] = False,
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Rows committed together.")
    ] = None,
    use_bulk: Annotated[
        bool | None,
        typer.Option(
            "--bulk/--row-by-row",
            help="Opportunities: the batch path (default for files over 4 MB) or one at a time.",
        ),
    ] = None,
) -> None:
    """Create records from a file; headers naming a field (API or Dataverse) map themselves."""
    if table not in CREATORS:
        fail(f"cannot import {table!r}: one of {', '.join(sorted(CREATORS))}")
    if resume and dry_run:
        fail("--resume carries on a real import; it cannot go with --dry-run")
    headers, rows = _read(file)
    with unit() as session, _problems(report) as on_problem:
        actor = as_actor(session, user)
        require_allowed(actor, table)
        mapping = _mapping(table, headers, actor)
        run = None if dry_run else runs.begin(session, actor, table, file, resume=resume)
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task(f"importing {table}", total=None)
            importer, default_batch = _importer(table, file, use_bulk)
            result = importer(
                session,
                actor,
                rows,
                mapping,
                dry_run=dry_run,
                on_row=_every_thousand(lambda number: progress.update(task, completed=number)),
                skip=run.rows_done if run else 0,
                batch_size=batch_size or default_batch,
                on_batch=runs.checkpoint(run) if run else None,
                on_problem=on_problem,
            )
        if run is not None:
            runs.finish(session, run)
    _summary(table, result, run, dry_run)


def _importer(table: str, file: Path, use_bulk: bool | None) -> tuple[bulk.Importer, int]:
    if use_bulk and table != "opportunities":
        fail("--bulk imports opportunities only")
    return bulk.importer_for(table, file.stat().st_size, batched=use_bulk)


def _mapping(table: str, headers: list[str], actor: Actor) -> dict[str, str]:
    mapping = auto_mapping(table, headers, may_backdate=may_backdate(actor))
    ignored = [header for header in headers if header not in mapping]
    if ignored:
        err.print(f"ignored columns: {', '.join(ignored)}", highlight=False)
    return mapping


def _every_thousand(update: Callable[[int], None]) -> Callable[[int], None]:
    # Redrawing the bar for each row costs more than a row of the batch path.
    return lambda number: None if number % 1000 else update(number)


def _read(file: Path) -> tuple[list[str], Iterator[dict[str, str]]]:
    try:
        return read_rows(file)
    except UnreadableFile as error:
        fail(f"{file}: {error}")


@contextmanager
def _problems(report: Path | None) -> Iterator[Callable[[RowProblem], None]]:
    """Each refused row's problems go to the report as they are found (or nowhere)."""
    if report is None:
        yield lambda _problem: None
        return
    with report.open("w", encoding="utf-8", newline="") as stream:
        yield problem_writer(stream)


def _summary(table: str, result: ImportResult, run: ImportRun | None, dry_run: bool) -> None:
    # A resumed run counts what the earlier attempts committed too.
    counts = result if run is None else run
    verb = "would create" if dry_run else "created"
    summary = f"{verb} {counts.created} {table}, {counts.existing} already imported"
    out.print(f"{summary}, refused {counts.refused} rows", highlight=False)
    if counts.refused:
        raise typer.Exit(2)
