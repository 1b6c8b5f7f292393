"""Receiving a multipart upload as a stream: the file part goes to the file store as it arrives.

Starlette's form parser would spool the whole body before the endpoint runs; here the body is
parsed chunk by chunk, the ``file`` part is hashed and written to a temporary file, and the
upload is refused (413) as soon as it passes the size limit, without reading the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from oppflow.api.deps import release_request_transaction
from oppflow.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from oppflow.related.storage import Blob, BlobWriter, FileStore

if TYPE_CHECKING:  # a typed dict the library defines for type checkers only
    from python_multipart.multipart import MultipartCallbacks

MAX_PARTS = 4
MAX_FIELD_BYTES = 1024
# The text fields an upload takes beside its file, with the largest size of each.
NAME_ONLY: Mapping[str, int] = {"name": MAX_FIELD_BYTES}
# Room for the multipart framing and the ``name`` field around the file itself.
FRAMING_BYTES = 16 * 1024


@dataclass(frozen=True)
class Upload:
    """An uploaded file, received but not yet accepted."""

    blob: Blob
    filename: str
    content_type: str | None
    fields: dict[str, str] = field(default_factory=dict)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class _Receiver:
    """The parser's callbacks: which part is being read, and where its bytes go."""

    store: FileStore
    limit: int
    allowed: Mapping[str, int] = field(default_factory=lambda: NAME_ONLY)
    parts: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_name: bytes = b""
    header_value: bytes = b""
    current: str = ""
    writer: BlobWriter | None = None
    pending: list[bytes] = field(default_factory=list)
    received: int = 0
    filename: str = ""
    content_type: str | None = None
    values: dict[str, bytearray] = field(default_factory=dict)
    file_ended: bool = False
    blob: Blob | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS + len(self.allowed) - 1:
            raise ValidationFailed(f"Send one 'file' part and, optionally, {self._fields()}.")
        self.headers, self.current = {}, ""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = _text(options.get(b"name", b""))
        if name == "file" and b"filename" in options:
            if self.writer is not None or self.blob is not None:
                raise ValidationFailed("file: send one file per upload.", field="file")
            self.current, self.writer = "file", self.store.writer(self.limit)
            self.filename = _text(options[b"filename"])
            declared = self.headers.get(b"content-type")
            self.content_type = _text(declared) if declared else None
        elif name in self.allowed and b"filename" not in options and name not in self.values:
            self.current, self.values[name] = name, bytearray()
        else:
            raise ValidationFailed(
                f"Unexpected part {name[:40]!r}: send a 'file' part and, optionally, "
                f"{self._fields()}."
            )

    def _fields(self) -> str:
        return ", ".join(f"'{name}'" for name in self.allowed)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current == "file":
            self.received += end - start
            if self.received > self.limit:
                raise _too_large(self.limit)
            self.pending.append(data[start:end])
        elif self.current in self.values:
            value = self.values[self.current]
            value += data[start:end]
            if len(value) > self.allowed[self.current]:
                raise ValidationFailed(f"{self.current}: too long.", field=self.current)

    def on_part_end(self) -> None:
        self.file_ended = self.file_ended or self.current == "file"
        self.current = ""

    async def drain(self) -> None:
        """Write what the parser has given of the file so far (off the event loop)."""
        if self.writer is None:
            return
        if self.pending:
            chunk = b"".join(self.pending)
            self.pending.clear()
            await run_in_threadpool(self.writer.write, chunk)
        if self.file_ended:
            self.blob, self.writer = self.writer.finish(), None

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.discard()
        if self.blob is not None:
            self.blob.path.unlink(missing_ok=True)

    def upload(self) -> Upload:
        if self.blob is None:
            raise ValidationFailed("file: send the file as a complete 'file' part.", field="file")
        fields = {key: _text(bytes(value)) for key, value in self.values.items()}
        name = fields.get("name", "").strip()
        return Upload(self.blob, name or self.filename, self.content_type, fields)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than the limit of {limit} bytes.", limit=limit)


async def receive_upload(
    request: Request,
    store: FileStore,
    fields: Mapping[str, int] = NAME_ONLY,
    *,
    limit: int | None = None,
) -> Upload:
    """Read a ``multipart/form-data`` body with a ``file`` part (and the optional text
    ``fields``: by default ``name``, overriding its file name) into the store's incoming
    directory; a file over ``limit`` bytes (the store's limit by default) is refused as soon
    as it passes it."""
    limit = limit or store.max_bytes
    release_request_transaction(request)
    media_type, params = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise UnsupportedMediaType("Send the file as multipart/form-data, in a part named 'file'.")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FRAMING_BYTES:
        raise _too_large(limit)
    receiver = _Receiver(store, limit, fields)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await receiver.drain()
        parser.finalize()
        await receiver.drain()
        return receiver.upload()
    except MultipartParseError as error:
        receiver.discard()
        raise ValidationFailed("The multipart body is malformed.") from error
    except BaseException:
        receiver.discard()
        raise
