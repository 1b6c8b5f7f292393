"""Importing rows through the same services the API uses: each row validated by the create
schema and created by the service in a savepoint, so a refused row leaves nothing behind.
Batches commit as they go (a dry run rolls everything back instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from oppflow.errors import OppflowError
from oppflow.imports.mapping import apply_mapping
from oppflow.imports.report import RowProblem
from oppflow.models import Account, Contact
from oppflow.sales import service as sales_service
from oppflow.sales.schemas import AccountCreate, ContactCreate
from oppflow.security.actor import Actor

BATCH_SIZE = 1000

Creator = Callable[[Session, Actor, dict[str, str]], Account | Contact]


def _create_account(session: Session, actor: Actor, values: dict[str, str]) -> Account:
    return sales_service.create_account(
        session, actor=actor, data=AccountCreate.model_validate(values)
    )


def _create_contact(session: Session, actor: Actor, values: dict[str, str]) -> Contact:
    return sales_service.create_contact(
        session, actor=actor, data=ContactCreate.model_validate(values)
    )


CREATORS: dict[str, Creator] = {"accounts": _create_account, "contacts": _create_contact}
MODELS: dict[str, type[Account] | type[Contact]] = {"accounts": Account, "contacts": Contact}


@dataclass
class ImportResult:
    created: int = 0
    # Rows whose external id is already imported: importing a file twice creates nothing new.
    existing: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def import_rows(
    session: Session,
    actor: Actor,
    table: str,
    rows: Iterable[Mapping[str, str]],
    mapping: Mapping[str, str],
    *,
    dry_run: bool = False,
    on_row: Callable[[int], None] | None = None,
) -> ImportResult:
    creator = CREATORS[table]
    result = ImportResult()
    for number, row in enumerate(rows, start=1):
        values = apply_mapping(row, mapping)
        external_id = values.pop("external_id", None)
        if external_id is not None and _imported(session, table, external_id):
            result.existing += 1
        else:
            _import_one(session, actor, creator, number, values, external_id, result)
        if number % BATCH_SIZE == 0:
            _end_batch(session, dry_run)
        if on_row is not None:
            on_row(number)
    _end_batch(session, dry_run)
    return result


def _import_one(
    session: Session,
    actor: Actor,
    creator: Creator,
    number: int,
    values: dict[str, str],
    external_id: str | None,
    result: ImportResult,
) -> None:
    savepoint = session.begin_nested()
    try:
        record = creator(session, actor, values)
        record.external_id = external_id
        session.flush()
    except ValidationError as error:
        savepoint.rollback()
        result.problems.extend(_validation_problems(number, values, error))
        return
    except OppflowError as error:
        savepoint.rollback()
        result.problems.append(RowProblem(number, "", "", error.detail))
        return
    savepoint.commit()
    result.created += 1


def _imported(session: Session, table: str, external_id: str) -> bool:
    # Unique across the table, whoever may read the record: the id names one record of the source.
    model = MODELS[table]
    found = session.scalar(select(model.id).where(model.external_id == external_id))
    return found is not None


def _validation_problems(
    number: int, values: Mapping[str, Any], error: ValidationError
) -> list[RowProblem]:
    problems = []
    for detail in error.errors():
        column = ".".join(str(part) for part in detail["loc"])
        why = str(detail["msg"]).removeprefix("Value error, ")
        problems.append(RowProblem(number, column, str(values.get(column, "")), why))
    return problems


def _end_batch(session: Session, dry_run: bool) -> None:
    if dry_run:
        session.rollback()
    else:
        session.commit()
