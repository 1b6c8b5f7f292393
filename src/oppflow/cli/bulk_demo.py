"""``oppflow demo --opportunities N``: the bulk demo generator, with a progress bar."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from oppflow.console import fail, out
from oppflow.db import configured_engine, get_engine
from oppflow.demo import bulk
from oppflow.errors import OppflowError
from oppflow.install import prepare_database


def run(count: int, seed: int, database_url: str | None) -> None:
    """Prepare the database, generate ``count`` opportunities, print the log-ins."""
    engine = configured_engine(database_url) if database_url else get_engine()
    prepare_database(engine)
    try:
        made = _generate(engine, count, seed)
    except OppflowError as error:
        fail(error.detail)
    finally:
        if database_url:
            engine.dispose()
    out.print(f"{made.opportunities:,} opportunities, {made.changes:,} change-log rows.")
    _print_log_ins(made)


def _generate(engine: Engine, count: int, seed: int) -> bulk.Generated:
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=out, transient=True) as progress:
        task = progress.add_task("Opportunities", total=count)

        def report(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        return bulk.generate(
            sessionmaker(bind=engine, expire_on_commit=False),
            count=count,
            seed=seed,
            progress=report,
        )


def _print_log_ins(made: bulk.Generated) -> None:
    table = Table(title="Bulk demo log-ins")
    for column in ("user", "password", "roles"):
        table.add_column(column)
    for user in made.credentials.users:
        table.add_row(user.username, user.password, ", ".join(user.roles))
    out.print(table)
