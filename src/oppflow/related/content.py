"""What an uploaded file may be called and contain (pure checks on names and bytes).

A file's type comes from a short allow-list keyed by its extension, and its bytes must look like
that type: a PDF starts with ``%PDF-``, an Office document is a zip with the right parts, a text
file is UTF-8 without control characters. Executables are refused whatever their name, as is a
declared ``Content-Type`` that contradicts the bytes.
"""

from __future__ import annotations

import codecs
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oppflow.errors import UnsupportedMediaType, ValidationFailed
from oppflow.related.storage import Blob

MAX_NAME = 200
GENERIC_TYPES = frozenset({"", "application/octet-stream"})
EXECUTABLE_SIGNATURES = (
    b"MZ",  # Windows PE
    b"\x7fELF",  # Linux
    b"\xfe\xed\xfa\xce",  # Mach-O (32/64 bit, both byte orders) and universal binaries
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",  # scripts
)
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


@dataclass(frozen=True)
class FileType:
    media_type: str
    label: str
    looks_right: Callable[[Blob], bool]
    aliases: frozenset[str] = frozenset()


def _starts(*signatures: bytes) -> Callable[[Blob], bool]:
    return lambda blob: blob.head.startswith(signatures)


def _webp(blob: Blob) -> bool:
    return blob.head[:4] == b"RIFF" and blob.head[8:12] == b"WEBP"


def _utf8_text(blob: Blob) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with blob.path.open("rb") as stream:
            while chunk := stream.read(1 << 16):
                if not _plain(decoder.decode(chunk)):
                    return False
            return _plain(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return False


def _plain(text: str) -> bool:
    return all(c >= " " or c in _ALLOWED_CONTROLS for c in text) and "\x7f" not in text


def _zip_names(blob: Blob) -> list[str] | None:
    try:
        with zipfile.ZipFile(blob.path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None


def _ooxml(folder: str) -> Callable[[Blob], bool]:
    def check(blob: Blob) -> bool:
        names = _zip_names(blob) if blob.head.startswith(b"PK\x03\x04") else None
        if names is None or "[Content_Types].xml" not in names:
            return False
        if any(name.lower().endswith("vbaproject.bin") for name in names):
            raise UnsupportedMediaType("Documents with macros are not accepted.")
        return any(name.startswith(folder) for name in names)

    return check


def _odf(media_type: str) -> Callable[[Blob], bool]:
    def check(blob: Blob) -> bool:
        if not blob.head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(blob.path) as archive:
                return archive.read("mimetype").strip() == media_type.encode()
        except (zipfile.BadZipFile, KeyError, OSError):
            return False

    return check


_TEXT_ALIASES = frozenset({"text/plain"})
_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"
TYPES: dict[str, FileType] = {
    ".pdf": FileType("application/pdf", "a PDF document", _starts(b"%PDF-")),
    ".png": FileType("image/png", "a PNG image", _starts(b"\x89PNG\r\n\x1a\n")),
    ".jpg": FileType(
        "image/jpeg", "a JPEG image", _starts(b"\xff\xd8\xff"), frozenset({"image/jpg"})
    ),
    ".jpeg": FileType(
        "image/jpeg", "a JPEG image", _starts(b"\xff\xd8\xff"), frozenset({"image/jpg"})
    ),
    ".gif": FileType("image/gif", "a GIF image", _starts(b"GIF87a", b"GIF89a")),
    ".webp": FileType("image/webp", "a WebP image", _webp),
    ".txt": FileType("text/plain", "UTF-8 text", _utf8_text),
    ".md": FileType("text/markdown", "UTF-8 text", _utf8_text, _TEXT_ALIASES),
    ".csv": FileType(
        "text/csv",
        "UTF-8 text",
        _utf8_text,
        _TEXT_ALIASES | {"application/csv", "application/vnd.ms-excel", "text/x-csv"},
    ),
    ".docx": FileType(f"{_OOXML}.wordprocessingml.document", "a Word document", _ooxml("word/")),
    ".xlsx": FileType(f"{_OOXML}.spreadsheetml.sheet", "an Excel workbook", _ooxml("xl/")),
    ".pptx": FileType(
        f"{_OOXML}.presentationml.presentation", "a PowerPoint presentation", _ooxml("ppt/")
    ),
    ".odt": FileType(f"{_ODF}.text", "an OpenDocument text", _odf(f"{_ODF}.text")),
    ".ods": FileType(
        f"{_ODF}.spreadsheet", "an OpenDocument spreadsheet", _odf(f"{_ODF}.spreadsheet")
    ),
    ".odp": FileType(
        f"{_ODF}.presentation", "an OpenDocument presentation", _odf(f"{_ODF}.presentation")
    ),
    ".doc": FileType("application/msword", "a Word 97-2003 document", _starts(OLE_SIGNATURE)),
    ".xls": FileType(
        "application/vnd.ms-excel", "an Excel 97-2003 workbook", _starts(OLE_SIGNATURE)
    ),
    ".ppt": FileType(
        "application/vnd.ms-powerpoint", "a PowerPoint 97-2003 file", _starts(OLE_SIGNATURE)
    ),
}


def clean_name(raw: str) -> str:
    """A file name fit to show and to send back: Unicode NFC, trimmed, no path, no control or
    invisible formatting characters, at most 200 characters (422 otherwise)."""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise ValidationFailed("name: the file has no name.", field="name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ValidationFailed("name: give a file name, not a path.", field="name")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise ValidationFailed("name: control characters are not allowed.", field="name")
    if name.startswith("."):
        raise ValidationFailed("name: a name may not start with a dot.", field="name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"name: at most {MAX_NAME} characters.", field="name")
    return name


def content_type(name: str, declared: str | None, blob: Blob) -> str:
    """The media type of an accepted file; 415 for executables, types outside the allow-list,
    and bytes that do not match the extension or the declared type; 422 for an empty file."""
    if blob.size == 0:
        raise ValidationFailed("The file is empty.", field="file")
    if blob.head.startswith(EXECUTABLE_SIGNATURES):
        raise UnsupportedMediaType("Executable files are not accepted.")
    extension = Path(name).suffix.lower()
    kind = TYPES.get(extension)
    if kind is None:
        allowed = ", ".join(sorted(TYPES))
        raise UnsupportedMediaType(
            f"Files of type {extension or '(none)'!r} are not accepted; accepted: {allowed}.",
            accepted=sorted(TYPES),
        )
    if not kind.looks_right(blob):
        raise UnsupportedMediaType(f"The content of {name!r} is not {kind.label}.")
    stated = (declared or "").split(";")[0].strip().lower()
    if stated not in GENERIC_TYPES | kind.aliases | {kind.media_type}:
        raise UnsupportedMediaType(
            f"The file was sent as {stated!r}, but its content is {kind.label}."
        )
    return kind.media_type
