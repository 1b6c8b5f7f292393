"""Files as the importer reads them: any delimiter and encoding, JSON lines, malformed heads."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from oppflow.imports.mapping import apply_mapping, auto_mapping
from oppflow.imports.reading import UnreadableFile, read_rows
from oppflow.imports.report import RowProblem, write_report


@pytest.mark.parametrize(
    ("delimiter", "encoding", "bom"),
    [
        (",", "utf-8", b""),
        (";", "cp1252", b""),
        ("\t", "utf-8", codecs.BOM_UTF8),
        ("|", "utf-16-le", codecs.BOM_UTF16_LE),
    ],
)
def test_csv_any_delimiter_and_encoding(
    tmp_path: Path, delimiter: str, encoding: str, bom: bytes
) -> None:
    path = tmp_path / "accounts.csv"
    lines = ["name", "city"], ["Café Müller", "Zürich"], ["", ""], ["École", "Lyon"]
    text = "".join(delimiter.join(cells) + "\r\n" for cells in lines)
    path.write_bytes(bom + text.encode(encoding))
    headers, rows = read_rows(path)
    assert headers == ["name", "city"]
    assert list(rows) == [
        {"name": "Café Müller", "city": "Zürich"},
        {"name": "École", "city": "Lyon"},
    ]


def test_json_lines_with_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "contacts.jsonl"
    path.write_text('{"last_name": "Dupont", "email": null}\nnot json\n\n{"last_name": "Martin"}\n')
    headers, rows = read_rows(path)
    assert headers == ["last_name", "email"]
    assert list(rows) == [
        {"last_name": "Dupont", "email": ""},
        {"__error__": "not JSON"},
        {"last_name": "Martin"},
    ]


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", b'{"broken\n', b"[1, 2]\n"])
def test_files_without_a_header_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile):
        read_rows(path)


def test_a_ten_megabyte_cell_is_read_and_the_report_quotes_its_head(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    big = "x" * (10 * 1024 * 1024)
    path.write_text(f"name,description\nAcme,{big}\n")
    _, rows = read_rows(path)
    (row,) = list(rows)
    assert len(row["description"]) == len(big)
    report = io.StringIO()
    write_report(
        [RowProblem(1, "description", row["description"], "longer than 10000 characters")], report
    )
    assert len(report.getvalue()) < 400


def test_dataverse_salesforce_and_api_headers_map_themselves() -> None:
    headers = [
        "Opportunity Name",
        "estimatedvalue",
        "CloseDate",
        "parentaccountid",
        "stage",
        "Colour",
    ]
    mapping = auto_mapping("opportunities", headers, may_backdate=False)
    assert mapping == {
        "Opportunity Name": "name",
        "estimatedvalue": "estimated_value",
        "CloseDate": "estimated_close_date",
        "parentaccountid": "account_name",
        "stage": "stage",
    }
    row = {"Opportunity Name": " Big deal ", "estimatedvalue": "", "Colour": "red"}
    assert apply_mapping(row, mapping) == {"name": "Big deal"}


def test_the_report_neutralises_formulas() -> None:
    report = io.StringIO()
    write_report([RowProblem(3, "name", '=HYPERLINK("x")', "unknown account")], report)
    assert report.getvalue().splitlines()[1].startswith("3,name,\"'=HYPERLINK")
