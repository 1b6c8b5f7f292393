"""Memory stays bounded: rows are pulled one at a time as batches commit, and the problems go to
their sink instead of piling up in the result."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.imports.report import RowProblem
from oppflow.imports.service import ImportResult, import_rows
from oppflow.security.service import actor_by_username
from tests.imports.support import user


def test_rows_are_pulled_as_they_are_imported_and_problems_not_kept(
    factory: sessionmaker[Session],
) -> None:
    user(factory, "alice")
    pulled = 0
    at_commit: list[tuple[int, int]] = []
    problems: list[int] = []

    def rows() -> Iterator[dict[str, str]]:
        nonlocal pulled
        for number in range(1, 301):
            pulled += 1
            yield {"Account Name": f"A{number}" if number % 3 else ""}

    def committed(_session: Session, last_row: int, _result: ImportResult) -> None:
        at_commit.append((last_row, pulled))

    def sink(problem: RowProblem) -> None:
        problems.append(problem.row)

    with unit_of_work(factory) as session:
        actor = actor_by_username(session, "alice")
        result = import_rows(
            session, actor, "accounts", rows(), {"Account Name": "name"},
            batch_size=100, on_batch=committed, on_problem=sink,
        )  # fmt: skip
    assert at_commit == [(100, 100), (200, 200), (300, 300), (300, 300)]
    assert (result.created, result.refused, result.problems) == (200, 100, [])
    assert problems == list(range(3, 301, 3))
