"""The shared CSV writer neutralises formulas; our own reader gets the values back."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from oppflow.exports.csvsafe import SafeCsvWriter, neutralise, unneutralise


def test_formula_cells_become_text() -> None:
    stream = io.StringIO()
    SafeCsvWriter(stream).writerow(
        ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "\rx", "plain", None]
    )
    cells = next(csv.reader(io.StringIO(stream.getvalue())))
    assert cells == ["'=1+1", "'+33 1 23", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "plain", ""]


@given(st.text())
def test_neutralised_cells_read_back_as_given(text: str) -> None:
    cell = neutralise(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unneutralise(cell) == text or text.startswith("'")
