"""Importing rows through the same services the API uses: each row validated by the create
schema and created by the service in a savepoint, so a refused row leaves nothing behind.
Batches commit as they go (a dry run rolls everything back instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oppflow.errors import OppflowError
from oppflow.imports import history
from oppflow.imports.lookups import Lookups
from oppflow.imports.mapping import apply_mapping
from oppflow.imports.records import CREATORS, MODELS, Creator
from oppflow.imports.report import RowProblem
from oppflow.imports.repository import already_there
from oppflow.imports.rows import AlreadyImported, Row, RowRefused
from oppflow.lookup.repository import LookupRepository
from oppflow.security.actor import Actor

__all__ = [
    "BATCH_SIZE",
    "CREATORS",
    "MODELS",
    "Creator",
    "ImportResult",
    "import_rows",
    "require_allowed",
]

BATCH_SIZE = 1000
# What a row may fail with: each becomes a line of the report, and the row is rolled back.
REFUSALS = (ValidationError, OppflowError, RowRefused, IntegrityError)


@dataclass
class ImportResult:
    created: int = 0
    # Rows whose external id is already imported, or that name a record of this database by
    # its id (its own export): importing a file twice creates nothing new.
    existing: int = 0
    refused: int = 0
    # Kept only when no on_problem callback takes them (see import_rows).
    problems: list[RowProblem] = field(default_factory=list)


# Called before a batch commits, in its transaction: (session, last row of the batch, result).
Checkpoint = Callable[[Session, int, ImportResult], None]


def import_rows(
    session: Session,
    actor: Actor,
    table: str,
    rows: Iterable[Mapping[str, str]],
    mapping: Mapping[str, str],
    *,
    dry_run: bool = False,
    on_row: Callable[[int], None] | None = None,
    skip: int = 0,
    batch_size: int = BATCH_SIZE,
    on_batch: Checkpoint | None = None,
    on_problem: Callable[[RowProblem], None] | None = None,
) -> ImportResult:
    """Import ``rows`` into ``table`` as ``actor``. ``skip`` passes over the rows an earlier run
    committed (``--resume``); ``on_batch`` records progress in each batch's own transaction;
    ``on_problem`` takes each problem as found, so that memory stays bounded."""
    require_allowed(actor, table)
    run = _Run(session, actor, table, dry_run, on_batch, on_problem)
    last = skip
    for number, row in enumerate(rows, start=1):
        if number > skip:
            run.one(number, apply_mapping(row, mapping))
            last = number
            if number % batch_size == 0:
                run.end_batch(number)
        if on_row is not None:
            on_row(number)
    run.end_batch(last)
    return run.result


def require_allowed(actor: Actor, table: str) -> None:
    """Refuse an import the actor may not run at all (before any row is read)."""
    if table == "history":
        history.require_admin(actor)


class _Run:
    def __init__(
        self,
        session: Session,
        actor: Actor,
        table: str,
        dry_run: bool,
        on_batch: Checkpoint | None,
        on_problem: Callable[[RowProblem], None] | None,
    ) -> None:
        self.session, self.actor, self.table = session, actor, table
        self.creator = CREATORS[table]
        self.lookups = Lookups(LookupRepository(session, actor))
        self.dry_run, self.on_batch = dry_run, on_batch
        self.report = on_problem or self.result_problems
        self.result = ImportResult()

    def result_problems(self, problem: RowProblem) -> None:
        self.result.problems.append(problem)

    def one(self, number: int, values: dict[str, str]) -> None:
        external_id = values.pop("external_id", None) if self.table in MODELS else None
        if external_id is not None and _imported(self.session, self.table, external_id):
            self.result.existing += 1
            return
        savepoint = self.session.begin_nested()
        try:
            self.creator(Row(self.session, self.actor, self.lookups, values, external_id))
            self.session.flush()
        except AlreadyImported:
            savepoint.rollback()
            self.result.existing += 1
            return
        except REFUSALS as error:
            savepoint.rollback()
            self._refuse(number, values, error)
            return
        savepoint.commit()
        self.result.created += 1

    def _refuse(self, number: int, values: Mapping[str, Any], error: Exception) -> None:
        self.result.refused += 1
        for problem in _problems(number, values, error):
            self.report(problem)

    def end_batch(self, last_row: int) -> None:
        self.lookups.forget()
        if self.dry_run:
            self.session.rollback()
            return
        if self.on_batch is not None:
            self.on_batch(self.session, last_row, self.result)
        self.session.commit()


def _imported(session: Session, table: str, external_id: str) -> bool:
    # Unique across the table, whoever may read the record: the id names one record of the source.
    return bool(already_there(session, MODELS[table], [external_id]))


def _problems(number: int, values: Mapping[str, Any], error: Exception) -> list[RowProblem]:
    if isinstance(error, ValidationError):
        return _validation_problems(number, values, error)
    if isinstance(error, RowRefused):
        return [RowProblem(number, error.column, error.value, error.why)]
    if isinstance(error, OppflowError):
        column = str(error.extra.get("field", ""))
        return [RowProblem(number, column, str(values.get(column, "")), error.detail)]
    # A unique constraint: another import created the same external id meanwhile.
    return [RowProblem(number, "", "", "conflicts with a record already imported")]


def _validation_problems(
    number: int, values: Mapping[str, Any], error: ValidationError
) -> list[RowProblem]:
    problems = []
    for detail in error.errors():
        column = ".".join(str(part) for part in detail["loc"])
        why = str(detail["msg"]).removeprefix("Value error, ")
        problems.append(RowProblem(number, column, str(values.get(column, "")), why))
    return problems
