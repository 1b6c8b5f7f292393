"""The validation report: one line per refused cell or row (row, column, value, why), as CSV."""

from __future__ import annotations

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
    writer = SafeCsvWriter(stream)
    writer.writerow(REPORT_HEADERS)
    for problem in problems:
        value = (
            problem.value if len(problem.value) <= MAX_QUOTED else problem.value[:MAX_QUOTED] + "…"
        )
        writer.writerow((problem.row, problem.column, value, problem.why))
