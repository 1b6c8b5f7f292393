"""A report's rows as CSV: the same text for the API (``Accept: text/csv``) and the CLI."""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import BaseModel


def rows_of(report: BaseModel) -> list[BaseModel]:
    """The rows of a report (a funnel's are its phases)."""
    rows: list[BaseModel] = getattr(report, "rows", None) or getattr(report, "phases", [])
    return rows


def as_csv(rows: list[BaseModel]) -> str:
    """A header of the rows' fields, then one line per row; money keeps its exact text."""
    out = io.StringIO()
    if rows:
        fields = list(type(rows[0]).model_fields)
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: cell(v) for k, v in row.model_dump(mode="python").items()})
    return out.getvalue()


def cell(value: Any) -> Any:
    """A value as one CSV cell: lists joined by spaces, nothing for null."""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return "" if value is None else value
