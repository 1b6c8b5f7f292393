"""A report's CSV (``Accept: text/csv``, ``oppflow report --format csv``, the list's bulk
export) neutralises formulas in the text users typed, and leaves numbers numbers."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

from pydantic import BaseModel

from oppflow.analytics.export import as_csv
from oppflow.analytics.schemas import StaleRow
from oppflow.exports.csvsafe import neutralise

FORMULA = "=cmd|' /C calc'!A0"


def test_a_report_row_named_like_a_formula_is_text() -> None:
    row = StaleRow(
        opportunity_id=uuid.uuid4(),
        name=FORMULA,
        owner_id=uuid.uuid4(),
        process="@SUM(A1)",
        stage=None,
        pipeline_phase="1-Qualify",
        days_in_stage=40,
        days_idle=-3,
        threshold_days=30,
        stale_in_stage=True,
        idle=False,
    )
    [read] = list(csv.DictReader(io.StringIO(as_csv([row]))))
    assert read["name"] == "'" + FORMULA
    assert read["process"] == "'@SUM(A1)"
    assert read["stage"] == ""
    assert read["days_idle"] == "-3"  # a number, not text


class Change(BaseModel):
    label: str
    amount: Decimal
    ratio: float


def test_numbers_stay_numbers_and_text_like_numbers_does_not() -> None:
    text = as_csv([Change(label="-2+3+cmd|' /C calc'!A0", amount=Decimal("-1250.50"), ratio=-0.5)])
    [read] = list(csv.DictReader(io.StringIO(text)))
    assert read == {"label": "'-2+3+cmd|' /C calc'!A0", "amount": "-1250.50", "ratio": "-0.5"}
    assert neutralise(float("-inf")) == "'-inf"
    assert neutralise(True) == "True"
