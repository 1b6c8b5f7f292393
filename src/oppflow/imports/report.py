"""The validation report: one line per refused cell or row (row, column, value, why), as CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from oppflow.exports.csvsafe import SafeCsvWriter

REPORT_HEADERS = ("row", "column", "value", "why")
# The report quotes the value, not a 10 MB cell.
MAX_QUOTED = 200


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    value: str
    why: str


def write_report(problems: list[RowProblem], stream: TextIO) -> None:
    write = problem_writer(stream)
    for problem in problems:
        write(problem)


def problem_writer(stream: TextIO) -> Callable[[RowProblem], None]:
    """Write the header now, then each problem as it comes (the report is never held whole)."""
    writer = SafeCsvWriter(stream)
    writer.writerow(REPORT_HEADERS)

    def write(problem: RowProblem) -> None:
        value = problem.value
        if len(value) > MAX_QUOTED:
            value = value[:MAX_QUOTED] + "…"
        writer.writerow((problem.row, problem.column, value, problem.why))

    return write
