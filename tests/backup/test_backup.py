"""Backup and restore: what comes back has the same rows and the same files (by checksum), on
SQLite and PostgreSQL; a restore goes only into an empty database, and a damaged archive stops
before the database is touched."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.backup import database, service
from oppflow.backup.database import BackupError
from oppflow.backup.manifest import row_counts
from oppflow.cli import app
from oppflow.db import make_engine
from oppflow.related.storage import FileStore, default_store
from tests.conftest import POSTGRES_URL
from tests.helpers import create_opportunity, signed_in
from tests.related.test_files import upload


def _nothing(_: str) -> None:
    pass


def _some_records(client: TestClient, factory: sessionmaker[Session]) -> dict[str, str]:
    headers = signed_in(client, factory, roles=["sales-manager"])
    deal = create_opportunity(client, headers, name="Backed-up deal")
    upload(client, headers, deal["id"], "terms.pdf", b"%PDF-1.4 terms " + uuid.uuid4().bytes)
    return headers


@pytest.fixture
def empty_target(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it, of the source's kind: a new SQLite file, or a new
    PostgreSQL database whose search path names the source's schema."""
    if engine.dialect.name == "sqlite":
        target = make_engine(f"sqlite:///{tmp_path / 'restored' / 'oppflow.db'}")
        yield target
        target.dispose()
        return
    name = f"oppflow_restore_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    schema = engine.url.query["options"]
    base = POSTGRES_URL.rsplit("/", 1)[0]
    target = make_engine(f"{base}/{name}?options={str(schema).replace('=', '%3D')}")
    yield target
    target.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_then_restore_gives_the_same_rows_and_files(
    client: TestClient,
    factory: sessionmaker[Session],
    engine: Engine,
    empty_target: Engine,
    tmp_path: Path,
) -> None:
    _some_records(client, factory)
    archive = tmp_path / "backup.tar.gz"
    manifest = service.backup(engine, default_store(), archive, _nothing)
    restored_files = FileStore(tmp_path / "restored-files", 10**9)

    verified = service.restore(empty_target, restored_files, archive, _nothing)

    with engine.connect() as source, empty_target.connect() as copy:
        assert row_counts(copy) == row_counts(source) == manifest.tables
        names = "SELECT name FROM opportunities ORDER BY name"
        assert list(copy.execute(text(names))) == list(source.execute(text(names)))
    assert verified.files == len(manifest.files) >= 1
    for sha256 in manifest.files:
        assert (
            restored_files.path_of(sha256).read_bytes()
            == default_store().path_of(sha256).read_bytes()
        )


def test_a_restore_into_a_database_that_is_not_empty_is_refused_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    _some_records(client, factory)
    archive = tmp_path / "backup.tar.gz"
    service.backup(engine, default_store(), archive, _nothing)
    with engine.connect() as connection:
        before = row_counts(connection)
    with pytest.raises(BackupError, match="not empty"):
        service.restore(engine, FileStore(tmp_path / "files", 10**9), archive, _nothing)
    with engine.connect() as connection:
        assert row_counts(connection) == before
    assert not (tmp_path / "files").exists()


def _untouched(target: Engine) -> bool:
    if target.dialect.name == "sqlite":
        return database.sqlite_is_empty(target)
    return database.postgres_is_empty(target, database.postgres_schema(target))


def _tampered(archive: Path, tampered: Path, member: tarfile.TarInfo, data: bytes) -> None:
    with tarfile.open(archive, "r:gz") as source, tarfile.open(tampered, "w:gz") as target:
        for item in source:
            if item.name.startswith("files/"):
                continue
            target.addfile(item, source.extractfile(item))
        member.size = len(data)
        target.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize("name", ["files/ab/" + "ab" * 32, "files/../../escaped"])
def test_a_damaged_archive_stops_before_the_database_is_touched(
    client: TestClient,
    factory: sessionmaker[Session],
    engine: Engine,
    empty_target: Engine,
    tmp_path: Path,
    name: str,
) -> None:
    _some_records(client, factory)
    archive, tampered = tmp_path / "backup.tar.gz", tmp_path / "tampered.tar.gz"
    manifest = service.backup(engine, default_store(), archive, _nothing)
    manifest_name = next(iter(manifest.files))
    forged = name if "escaped" in name else f"files/{manifest_name[:2]}/{manifest_name}"
    _tampered(archive, tampered, tarfile.TarInfo(forged), b"not what was stored")

    with pytest.raises(BackupError, match=r"checksum|unexpected member"):
        service.restore(empty_target, FileStore(tmp_path / "files", 10**9), tampered, _nothing)
    assert _untouched(empty_target)
    assert not (tmp_path.parent / "escaped").exists()


def test_the_cli_backs_up_and_refuses_to_restore_over_data(
    client: TestClient,
    factory: sessionmaker[Session],
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the commands' wording is the same on both; the service tests cover PostgreSQL")
    _some_records(client, factory)
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    from oppflow.config import get_settings
    from oppflow.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    runner = CliRunner()
    archive = tmp_path / "cli.tar.gz"
    made = runner.invoke(app, ["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "rows in" in made.output
    refused = runner.invoke(app, ["restore", str(archive)])
    assert refused.exit_code == 1
    assert "not empty" in refused.output
    get_engine.cache_clear()
    get_settings.cache_clear()
