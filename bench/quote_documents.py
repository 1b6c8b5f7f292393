"""The quote's document at 1, 50 and 500 lines (the most a quote holds): the median time to
typeset the PDF and the preview image with typst, beside preparing the same values for the
template (formatting every amount with Babel, the JSON) measured in the same run (the ratio
column). No database: this is the typesetter's cost. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from pypdf import PdfReader
from rich.console import Console
from rich.table import Table

from oppflow.quotes.document import (
    DocumentLine,
    QuoteDocument,
    document_data,
    render_pdf,
    render_preview,
)

console = Console()


def document(lines: int, language: str = "fr") -> QuoteDocument:
    price, tax = Decimal("1234.50"), Decimal("246.90")
    rows = tuple(
        DocumentLine(n, f"Product {n}", "A description", Decimal(3), "Each", price,
                     Decimal("10.00"), tax, 3 * price - Decimal("10.00") + tax)
        for n in range(1, lines + 1)
    )  # fmt: skip
    total = sum((row.extended_amount for row in rows), Decimal(0))
    return QuoteDocument(
        language=language, quote_number="QUO-000001", revision_number=0, name="Bench",
        is_draft=False, issued_on=date(2026, 12, 5), currency="EUR", seller="Contoso",
        prepared_by="Maria", customer="Fabrikam", contact="Jeanne Dupont",
        effective_from=None, effective_to=None, lines=rows, total_line_amount=total,
        total_discount=Decimal(0), total_tax=Decimal(0), total_amount=total, terms="Net 30",
    )  # fmt: skip


def median_ms(work: Callable[[], object], runs: int) -> float:
    work()  # the template and the fonts load once per process
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    table = Table("lines", "operation", "median ms", "× values", "pages / bytes")
    for lines in (1, 50, 500):
        quote = document(lines)
        baseline = median_ms(lambda q=quote: json.dumps(document_data(q)), runs)
        table.add_row(str(lines), "values for the template", f"{baseline:.2f}", "1.0", "")
        pdf = render_pdf(quote)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        took = median_ms(lambda q=quote: render_pdf(q), runs)
        shown = f"{pages} p, {len(pdf):,} B"
        table.add_row(str(lines), "PDF", f"{took:.1f}", f"{took / baseline:.0f}", shown)
        took = median_ms(lambda q=quote: render_preview(q), runs)
        shown = f"{len(render_preview(quote)):,} B"
        table.add_row(str(lines), "preview PNG", f"{took:.1f}", f"{took / baseline:.0f}", shown)
    console.print(table)


if __name__ == "__main__":
    main()
