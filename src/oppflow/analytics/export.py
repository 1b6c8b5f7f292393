"""A report's rows as CSV: the same text for the API (``Accept: text/csv``) and the CLI.

Cells go through ``SafeCsvWriter``: a report names opportunities, owners and stages that users
typed, and a name starting with ``=`` would run as a formula in the spreadsheet opening it.
"""

from __future__ import annotations

import io
from typing import Any

from pydantic import BaseModel

from oppflow.exports.csvsafe import SafeCsvWriter


def rows_of(report: BaseModel) -> list[BaseModel]:
    """The rows of a report (a funnel's are its phases)."""
    rows: list[BaseModel] = getattr(report, "rows", None) or getattr(report, "phases", [])
    return rows


def as_csv(rows: list[BaseModel]) -> str:
    """A header of the rows' fields, then one line per row; money keeps its exact text."""
    out = io.StringIO()
    if rows:
        fields = list(type(rows[0]).model_fields)
        writer = SafeCsvWriter(out)
        writer.writerow(fields)
        for row in rows:
            values = row.model_dump(mode="python")
            writer.writerow([cell(values[field]) for field in fields])
    return out.getvalue()


def cell(value: Any) -> Any:
    """A value as one CSV cell: lists joined by spaces, nothing for null."""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return "" if value is None else value
