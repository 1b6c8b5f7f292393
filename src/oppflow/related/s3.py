"""File contents on S3-compatible object storage (AWS S3, MinIO, Ceph, …), shared by every
host that serves oppflow: the object ``<prefix>/ab/abcdef…`` holds the bytes whose SHA-256 is
``abcdef…``. Contents never change once stored, so each host keeps the ones it served in a
local cache and never has to check it against the bucket; the bucket is the truth for what
exists."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from oppflow.config import get_settings
from oppflow.errors import NotFound, OppflowError
from oppflow.related.storage import _SHA256, Blob, BlobWriter, FileStore, Removal


class StorageUnavailable(OppflowError):
    """The object store did not answer, or refused: the message says which and why."""

    status = 503
    title = "File storage unavailable"
    slug = "storage-unavailable"


@lru_cache
def _client(endpoint_url: str) -> Any:
    # One client per process and endpoint: building one costs tens of milliseconds.
    # Bounded: an unreachable store is a 503 within seconds, not a request hung for minutes.
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3})
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


class S3FileStore(FileStore):
    """Uploads are received into the cache's ``incoming/`` as on disk, then put in the bucket
    and kept in the cache; reads come from the cache, fetched from the bucket when missing."""

    def __init__(self, bucket: str, prefix: str, cache: Path, max_bytes: int) -> None:
        super().__init__(cache, max_bytes)
        self.bucket = bucket
        self.prefix = prefix
        self.client = _client(get_settings().s3_endpoint_url)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def key_of(self, sha256: str) -> str:
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 in hexadecimal")
        name = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def writer(self, limit: int | None = None) -> BlobWriter:
        return BlobWriter(self.root / "incoming", limit or self.max_bytes)

    def keep(self, blob: Blob) -> Path:
        if not self._touched(blob.sha256):
            self._call(
                "put",
                self.client.upload_file,
                str(blob.path),
                self.bucket,
                self.key_of(blob.sha256),
            )
        return super().keep(blob)

    def _touched(self, sha256: str) -> bool:
        """Refresh the stored object's time (a copy onto itself), as ``FileStore.keep`` does
        on disk; False when there is no such object."""
        key = self.key_of(sha256)
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
            )
        except ClientError as exc:
            if _missing(exc):
                return False
            raise StorageUnavailable(f"s3 copy {self.url}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"s3 copy {self.url}: {exc}") from exc
        return True

    def has(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def _head(self, sha256: str) -> dict[str, Any] | None:
        """The object's metadata; None when there is no such object."""
        try:
            head: dict[str, Any] = self.client.head_object(
                Bucket=self.bucket, Key=self.key_of(sha256)
            )
        except ClientError as exc:
            if _missing(exc):
                return None
            raise StorageUnavailable(f"s3 head {self.url}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"s3 head {self.url}: {exc}") from exc
        return head

    def open_path(self, sha256: str) -> Path:
        cached = self.path_of(sha256)
        if cached.is_file():
            return cached
        cached.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=cached.parent, prefix="fetch-")
        os.close(descriptor)
        try:
            self.client.download_file(self.bucket, self.key_of(sha256), name)
        except ClientError as exc:
            Path(name).unlink(missing_ok=True)
            if _missing(exc):
                raise NotFound("The content of this file is missing from the file store.") from exc
            raise StorageUnavailable(f"s3 get {self.url}: {exc}") from exc
        except BotoCoreError as exc:
            Path(name).unlink(missing_ok=True)
            raise StorageUnavailable(f"s3 get {self.url}: {exc}") from exc
        os.replace(name, cached)
        return cached

    def remove(self, sha256: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.bucket, Key=self.key_of(sha256))
        super().remove(sha256)

    def remove_unless_kept_since(self, sha256: str, since: datetime) -> Removal:
        # A bucket cannot rename atomically: between the time read here and the delete, a keep
        # of the same bytes on another host could still be lost. The window is one round trip,
        # where without the check it was the whole prune and the upload's transaction.
        head = self._head(sha256)
        if head is None:
            super().remove(sha256)
            return Removal.ABSENT
        if head["LastModified"] >= since:
            return Removal.KEPT_RECENTLY
        self.remove(sha256)
        return Removal.REMOVED

    def stored(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2")
        start = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in pages.paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    name = str(item["Key"]).removeprefix(start)
                    if len(name) == 67 and _SHA256.match(name[3:]) and name[:2] == name[3:5]:
                        yield name[3:]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"s3 list {self.url}: {exc}") from exc

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> None:
        try:
            method(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"s3 {what} {self.url}: {exc}") from exc


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}
