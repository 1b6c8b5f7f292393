"""File contents on disk, content-addressed: a file's bytes live at ``<root>/ab/abcdef…`` where
``abcdef…`` is their SHA-256, so the same bytes are stored once and a name never reaches a path.

An upload is written to ``<root>/incoming/`` while it is hashed, refused as soon as it passes the
size limit, and moved into place (an atomic rename on the same file system) only once accepted.
Keeping bytes that are stored already refreshes their time, so that neither deleting a file
(``related/files.py``) nor the retention of import files (``imports/retention.py``) removes a
content an upload has just named: both remove only through ``remove_unless_kept_since``, and
only what was not kept within ``GRACE`` (decision 0027).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from oppflow.clock import utcnow
from oppflow.config import get_settings
from oppflow.errors import NotFound, PayloadTooLarge

# Files are read and copied a mebibyte at a time: memory stays bounded whatever their size.
CHUNK = 1 << 20
# The limit of a writer of contents that are not an upload: accepted once already (a copy
# between stores, a restore) or made by oppflow (an import's report).
NO_LIMIT = 1 << 62
# How long a content kept stays, whether or not anything names it yet: far longer than an
# upload takes to commit its file or job once its bytes are kept.
GRACE = timedelta(hours=1)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, the name its content is stored under."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# What a content set aside by a removal is named after: ``<sha256>.removing-<moment>-<random>``.
ASIDE = ".removing-"
EPOCH = datetime.fromtimestamp(0, UTC)


class Removal(Enum):
    """What ``FileStore.remove_unless_kept_since`` did."""

    REMOVED = "removed"
    ABSENT = "absent"
    KEPT_RECENTLY = "kept recently"


@dataclass(frozen=True)
class Blob:
    """Received bytes, not yet kept: where they wait, how many, their SHA-256 and first bytes."""

    path: Path
    size: int
    sha256: str
    head: bytes


class BlobWriter:
    """Writes one upload to a temporary file, hashing it; PayloadTooLarge past ``limit`` bytes."""

    HEAD = 4096

    def __init__(self, directory: Path, limit: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=directory, prefix="upload-")
        self.path = Path(name)
        self._file = os.fdopen(descriptor, "wb")
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self.limit = limit
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise PayloadTooLarge(
                f"The file is larger than the limit of {self.limit} bytes.", limit=self.limit
            )
        self._hash.update(chunk)
        if len(self._head) < self.HEAD:
            self._head += chunk[: self.HEAD - len(self._head)]
        self._file.write(chunk)

    def finish(self) -> Blob:
        self._file.close()
        return Blob(self.path, self.size, self._hash.hexdigest(), bytes(self._head))

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


class FileStore:
    """The directory of file contents."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def writer(self, limit: int | None = None) -> BlobWriter:
        """Where an upload is received: at most ``limit`` bytes (the store's own limit by
        default)."""
        return BlobWriter(self.root / "incoming", limit or self.max_bytes)

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 in hexadecimal")
        return self.root / sha256[:2] / sha256

    def keep(self, blob: Blob) -> Path:
        """Move received bytes into place, or drop them when the same bytes are stored, whose
        time is then refreshed (see ``remove_unless_kept_since``)."""
        target = self.path_of(blob.sha256)
        try:
            os.utime(target)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(blob.path, target)
            return target
        blob.path.unlink(missing_ok=True)
        return target

    def open_path(self, sha256: str) -> Path:
        """The stored bytes' path; NotFound when they are missing from the disk."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFound("The content of this file is missing from the file store.")
        return path

    def remove(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def remove_unless_kept_since(self, sha256: str, since: datetime) -> Removal:
        """Remove the content unless it was kept at ``since`` or later (an upload of the same
        bytes, whose record may not be committed yet).

        It is first renamed aside, atomically: a ``keep`` of the same bytes either refreshed
        its time before (seen here, and it is put back) or finds it gone and stores it anew.
        The name aside carries the moment, for ``tidy`` to tell a removal killed before it
        decided from one still running."""
        target = self.path_of(sha256)
        moment = int(utcnow().timestamp())
        aside = target.with_name(f"{target.name}{ASIDE}{moment}-{uuid.uuid4().hex}")
        try:
            os.rename(target, aside)
        except FileNotFoundError:
            return Removal.ABSENT
        try:
            if datetime.fromtimestamp(aside.stat().st_mtime, UTC) >= since:
                os.replace(aside, target)
                return Removal.KEPT_RECENTLY
            aside.unlink()
        except FileNotFoundError:  # put back by a tidy: this removal outlasted the grace
            return Removal.KEPT_RECENTLY
        return Removal.REMOVED

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def tidy(self, older_than: datetime) -> int:
        """Clear what a process killed mid-way left in this host's directory before
        ``older_than``: an upload half received (``incoming/``), a download to the cache half
        made, and a content set aside by a removal that never decided (put back: whether it
        goes is the sweep's call). How many were cleared. The age spares the work of
        processes still running: a file being written has a recent time, and a content set
        aside carries the moment in its name."""
        cleared = 0
        for pattern in ("incoming/upload-*", "??/fetch-*"):
            cleared += sum(map(_unlink, _written_before(self.root.glob(pattern), older_than)))
        for aside in self.root.glob(f"??/*{ASIDE}*"):
            if _set_aside_at(aside) < older_than:
                cleared += _put_back(aside)
        return cleared

    def stored(self) -> Iterator[str]:
        """The SHA-256 of every stored content."""
        # One directory listed at a time, in order: memory stays bounded by a 256th of the
        # store, which may hold millions of contents.
        for directory in sorted(self.root.glob("??")):
            for path in sorted(directory.iterdir()) if directory.is_dir() else ():
                if path.is_file() and _SHA256.match(path.name) and path.name[:2] == directory.name:
                    yield path.name

    @property
    def url(self) -> str:
        return self.root.resolve().as_uri()


def _written_before(paths: Iterable[Path], moment: datetime) -> list[Path]:
    found = []
    for path in paths:
        try:
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < moment:
                found.append(path)
        except FileNotFoundError:  # gone meanwhile: its process finished with it
            continue
    return found


def _set_aside_at(aside: Path) -> datetime:
    moment = aside.name.partition(ASIDE)[2].partition("-")[0]
    # A name without its moment was set aside before names carried one: long ago.
    return datetime.fromtimestamp(int(moment), UTC) if moment.isdigit() else EPOCH


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def _put_back(aside: Path) -> int:
    target = aside.with_name(aside.name.partition(ASIDE)[0])
    try:
        # A link, not a rename, which would replace the same bytes stored again meanwhile
        # (kept recently) with this old copy, for the sweep to remove under their upload.
        os.link(aside, target)
    except FileExistsError:
        pass
    except FileNotFoundError:
        return 0
    return _unlink(aside)


def default_store() -> FileStore:
    """The store the settings name: ``OPPFLOW_FILES_URL`` (S3) or ``OPPFLOW_FILES_DIR``, each
    upload at most ``OPPFLOW_MAX_UPLOAD_BYTES``."""
    settings = get_settings()
    return store_at(settings.files_url or settings.resolved_files_dir().as_uri())


def store_at(url: str) -> FileStore:
    """The store at ``url``: ``file:///path``, or ``s3://bucket/prefix`` cached in the files
    directory; ValueError for anything else."""
    settings = get_settings()
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileStore(Path(unquote(parts.path)), settings.max_upload_bytes)
    if parts.scheme == "s3" and parts.netloc:
        from oppflow.related.s3 import S3FileStore

        cache = settings.resolved_files_dir() / "s3-cache"
        return S3FileStore(parts.netloc, parts.path.strip("/"), cache, settings.max_upload_bytes)
    raise ValueError(f"not a file store URL (file:///path or s3://bucket/prefix): {url}")
