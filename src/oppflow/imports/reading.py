"""Streaming a file's rows as dicts, whatever its delimiter and encoding (CSV) or JSON lines.

Only a sample of the head is read to detect the format, so memory stays bounded for any size.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
# A 10 MB cell is read (then refused by validation) rather than crashing the csv module.
csv.field_size_limit(64 * 1024 * 1024)


class UnreadableFile(ValueError):
    """The file is neither CSV with a header row nor JSON lines."""


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv" or "jsonl"
    encoding: str
    delimiter: str = ","


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 by BOM; otherwise cp1252, which accepts any byte."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A sample may end inside a multi-byte character; only an earlier error means "not UTF-8".
        if error.start < len(sample) - 3:
            return "cp1252"
    return "utf-8"


def detect_format(sample: bytes) -> FileFormat:
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")
    if text.lstrip().startswith("{"):
        return FileFormat("jsonl", encoding)
    if text.lstrip().startswith("["):
        raise UnreadableFile("a JSON array: one JSON object per line is expected")
    header = text.splitlines()[0] if text else ""
    if not header.strip():
        raise UnreadableFile("the file has no header row")
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    return FileFormat("csv", encoding, max(counts, key=lambda d: counts[d]))


def read_rows(path: Path) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The headers and the rows (1-based data row numbers follow iteration order)."""
    stream = path.open("rb")
    file_format = detect_format(stream.read(SAMPLE_BYTES))
    stream.seek(0)
    if file_format.kind == "jsonl":
        return _jsonl_rows(stream, file_format.encoding)
    return _csv_rows(stream, file_format)


def _csv_rows(
    stream: BinaryIO, file_format: FileFormat
) -> tuple[list[str], Iterator[dict[str, str]]]:
    text = io.TextIOWrapper(stream, encoding=file_format.encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=file_format.delimiter)
    headers = [header.strip() for header in next(reader, [])]
    if not any(headers):
        raise UnreadableFile("the file has no header row")

    def rows() -> Iterator[dict[str, str]]:
        with text:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield dict(zip(headers, cells, strict=False))

    return headers, rows()


def _jsonl_rows(stream: BinaryIO, encoding: str) -> tuple[list[str], Iterator[dict[str, str]]]:
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace")
    first = text.readline()
    try:
        head = json.loads(first)
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"line 1 is not JSON: {error.msg}") from None
    if not isinstance(head, dict):
        raise UnreadableFile("line 1 is not a JSON object")

    def rows() -> Iterator[dict[str, str]]:
        with text:
            yield _as_text(head)
            for line in text:
                if line.strip():
                    yield _parsed_line(line)

    return list(head), rows()


def _parsed_line(line: str) -> dict[str, str]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {"__error__": "not JSON"}
    return _as_text(value) if isinstance(value, dict) else {"__error__": "not a JSON object"}


def _as_text(row: dict[str, object]) -> dict[str, str]:
    return {key: "" if value is None else str(value) for key, value in row.items()}
