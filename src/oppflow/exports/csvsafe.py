"""One CSV writer for every file oppflow hands out, neutralising spreadsheet formulas.

A cell starting with = + - @ (or a tab or carriage return) would be run as a formula by
spreadsheet programs when the file is opened; a leading apostrophe makes it text (OWASP's advice).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    """The cell as text a spreadsheet shows rather than evaluates. A finite number stays as it
    is: a spreadsheet reads -12.5 as a number, and an apostrophe would make it text."""
    if _number(cell):
        return str(cell)
    text = "" if cell is None else str(cell)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _number(cell: object) -> bool:
    if isinstance(cell, bool) or not isinstance(cell, int | float | Decimal):
        return False
    return cell.is_finite() if isinstance(cell, Decimal) else math.isfinite(cell)


def unneutralise(text: str) -> str:
    """The value `neutralise` was given, for reading our own exports back."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SafeCsvWriter:
    """csv.writer whose every cell passes through `neutralise`."""

    def __init__(self, stream: TextIO, delimiter: str = ",") -> None:
        self._writer = csv.writer(stream, delimiter=delimiter, lineterminator="\r\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
