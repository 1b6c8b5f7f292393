"""``oppflow backup`` and ``oppflow restore``: one archive (tar, gzip) holding the manifest,
the database and the stored files; a restore goes only into an empty database, then counts
the rows and hashes the files it wrote against the manifest."""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from oppflow.backup import database
from oppflow.backup.database import BackupError
from oppflow.backup.manifest import MANIFEST, Manifest, revision_of, row_counts
from oppflow.related.storage import CHUNK, NO_LIMIT, FileStore, sha256_of

FILES = "files/"
_STORED = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Verified:
    """What a restore checked: rows per table and files, each equal to the manifest."""

    tables: int
    rows: int
    files: int


def backup(engine: Engine, store: FileStore, archive: Path, progress: Progress) -> Manifest:
    """Write ``archive``: the database as of one instant, then every stored file."""
    with tempfile.TemporaryDirectory() as work:
        dump = Path(work) / database.member_name(engine.dialect.name)
        progress("database")
        manifest = _dump(engine, dump)
        with tarfile.open(archive, "w:gz", compresslevel=3) as tar:
            tar.add(dump, arcname=dump.name)
            for sha256 in store.stored():
                progress(f"file {sha256[:12]}")
                path = store.open_path(sha256)
                if sha256_of(path) != sha256:
                    raise BackupError(f"The stored file {sha256} does not match its checksum.")
                manifest.files[sha256] = path.stat().st_size
                tar.add(path, arcname=f"{FILES}{sha256[:2]}/{sha256}")
            _add_bytes(tar, MANIFEST, manifest.to_json())
    return manifest


def _dump(engine: Engine, dump: Path) -> Manifest:
    created = datetime.now(UTC).isoformat()
    if engine.dialect.name == "sqlite":
        counts = database.dump_sqlite(engine, dump)
        schema = None
    else:
        schema, counts = database.dump_postgres(engine, dump)
    with engine.connect() as connection:
        revision = revision_of(connection)
    return Manifest(engine.dialect.name, revision, created, counts, schema=schema)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def restore(engine: Engine, store: FileStore, archive: Path, progress: Progress) -> Verified:
    """Restore ``archive`` into the empty database ``engine`` names and into ``store``, then
    check every table's rows and every file's checksum against the manifest."""
    with _opened(archive) as tar:
        manifest = _manifest(tar)
        _check_target(engine, manifest)
        # Files first: each is checked before it is kept, and kept files are harmless
        # (content-addressed), so a damaged archive stops before the database is touched.
        for member in tar:
            if member.name.startswith(FILES):
                progress(f"file {member.name[-64:][:12]}")
                _restore_file(tar, member, store, manifest)
        progress("database")
        _restore_database(engine, tar, manifest)
    return _verify(engine, store, manifest)


def _opened(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive} is not an oppflow backup: {exc}") from exc


def _manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.extractfile(MANIFEST)
        if member is None:
            raise KeyError(MANIFEST)
        return Manifest.from_json(member.read())
    except (KeyError, ValueError, TypeError) as exc:
        raise BackupError(f"The archive has no readable manifest ({exc}).") from exc


def _check_target(engine: Engine, manifest: Manifest) -> None:
    dialect = engine.dialect.name
    if manifest.dialect != dialect:
        raise BackupError(
            f"This is a backup of a {manifest.dialect} database; the target is {dialect}."
        )
    if dialect == "sqlite":
        empty = database.sqlite_is_empty(engine)
    else:
        schema = database.postgres_schema(engine)
        if schema != manifest.schema:
            raise BackupError(
                f"The backup is of schema {manifest.schema!r}; the target's is {schema!r}."
            )
        empty = database.postgres_is_empty(engine, schema)
    if not empty:
        raise BackupError("The target database is not empty: restore only into an empty one.")


def _restore_database(engine: Engine, tar: tarfile.TarFile, manifest: Manifest) -> None:
    name = database.member_name(manifest.dialect)
    source = tar.extractfile(name)
    if source is None:
        raise BackupError(f"The archive holds no {name}.")
    folder = database.sqlite_path(engine).parent if manifest.dialect == "sqlite" else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".restore") as dump:
        shutil.copyfileobj(source, dump)
    try:
        if manifest.dialect == "sqlite":
            database.restore_sqlite(engine, Path(dump.name))
        else:
            database.restore_postgres(engine, Path(dump.name), str(manifest.schema))
    finally:
        Path(dump.name).unlink(missing_ok=True)


def _restore_file(
    tar: tarfile.TarFile, member: tarfile.TarInfo, store: FileStore, manifest: Manifest
) -> None:
    """One stored file, checked by its name (its SHA-256) before it is put in place; a name
    that is not a stored file's (``../`` or anything else) is refused, never written."""
    relative = member.name.removeprefix(FILES)
    sha256 = relative[-64:]
    if not member.isfile() or not _STORED.match(relative) or sha256 not in manifest.files:
        raise BackupError(f"The archive holds an unexpected member {member.name!r}.")
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    writer = store.writer(NO_LIMIT)  # checked against the manifest's checksum instead
    while chunk := source.read(CHUNK):
        writer.write(chunk)
    blob = writer.finish()
    if blob.sha256 != sha256:
        os.unlink(blob.path)
        raise BackupError(f"The file {sha256} in the archive does not match its checksum.")
    store.keep(blob)


def _verify(engine: Engine, store: FileStore, manifest: Manifest) -> Verified:
    with engine.connect() as connection:
        counts = row_counts(connection)
    wrong = sorted(t for t, n in manifest.tables.items() if counts.get(t) != n)
    if wrong:
        raise BackupError(f"Row counts differ from the backup's in: {', '.join(wrong)}.")
    for sha256 in manifest.files:
        if not store.has(sha256) or sha256_of(store.open_path(sha256)) != sha256:
            raise BackupError(f"The restored file {sha256} is missing or damaged.")
    return Verified(len(counts), sum(counts.values()), len(manifest.files))
