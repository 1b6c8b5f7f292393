"""Files on S3-compatible object storage, against a real S3 server (moto's, started here):
uploads land in the bucket, another host (an empty cache) reads them back, a delete leaves
the bytes kept within the grace and the prune's sweep removes them after, a store that does
not answer is a 503, and ``oppflow files migrate`` and backups move the contents between
stores with their checksums."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.backup import service
from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import make_engine
from oppflow.imports import retention
from oppflow.related.storage import FileStore, default_store, store_at
from tests.helpers import create_opportunity, signed_in
from tests.related.test_files import upload
from tests.served import free_port

BUCKET = "oppflow-files"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def on_s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """OPPFLOW_FILES_URL at a fresh prefix of the bucket; this host's cache under tmp_path."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "OPPFLOW_S3_ENDPOINT_URL": s3_endpoint,
        "OPPFLOW_FILES_DIR": str(tmp_path / "cache"),
    }.items():
        monkeypatch.setenv(name, value)
    bucket = boto3.client("s3", endpoint_url=s3_endpoint)
    if BUCKET not in [b["Name"] for b in bucket.list_buckets()["Buckets"]]:
        bucket.create_bucket(Bucket=BUCKET)
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    monkeypatch.setenv("OPPFLOW_FILES_URL", url)
    get_settings.cache_clear()
    yield url
    monkeypatch.undo()
    get_settings.cache_clear()


def _keys(s3_endpoint: str, url: str) -> list[str]:
    prefix = url.removeprefix(f"s3://{BUCKET}/")
    listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix=prefix
    )
    return [item["Key"] for item in listed.get("Contents", [])]


def test_an_upload_lands_in_the_bucket_and_another_host_reads_it_back(
    client: TestClient, factory: sessionmaker[Session], on_s3: str, s3_endpoint: str, tmp_path: Path
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    deal = create_opportunity(client, headers)
    content = b"%PDF-1.4 on object storage " + uuid.uuid4().bytes
    answer = upload(client, headers, deal["id"], "terms.pdf", content)
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert _keys(s3_endpoint, on_s3) == [
        f"{on_s3.split('/')[-1]}/{record['sha256'][:2]}/{record['sha256']}"
    ]

    shutil.rmtree(tmp_path / "cache")  # another host: nothing cached
    fetched = client.get(f"/api/v1/files/{record['id']}/content", headers=headers)
    assert fetched.status_code == 200
    assert fetched.content == content

    assert client.delete(f"/api/v1/files/{record['id']}", headers=headers).status_code == 204
    assert len(_keys(s3_endpoint, on_s3)) == 1, "uploaded seconds ago: within the grace"
    assert retention.sweep(factory, default_store(), grace=timedelta(0)) == 1
    assert _keys(s3_endpoint, on_s3) == []


def test_an_object_store_that_does_not_answer_is_a_503_and_keeps_nothing(
    client: TestClient, factory: sessionmaker[Session], on_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPPFLOW_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    headers = signed_in(client, factory, roles=["sales-manager"])
    deal = create_opportunity(client, headers)
    answer = client.post(
        f"/api/v1/opportunities/{deal['id']}/files",
        files={"file": ("a.txt", b"hello", "text/plain")},
        headers=headers,
    )
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    listed = client.get(f"/api/v1/opportunities/{deal['id']}/files", headers=headers).json()
    assert listed["items"] == []


def test_files_migrate_from_disk_to_s3_and_back_keeps_every_checksum(
    on_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = FileStore(tmp_path / "local", 10**9)
    contents = [uuid.uuid4().bytes * 100 for _ in range(3)]
    for content in contents:
        writer = local.writer()
        writer.write(content)
        local.keep(writer.finish())
    monkeypatch.setenv("OPPFLOW_FILES_URL", local.url)
    get_settings.cache_clear()
    runner = CliRunner()
    first = runner.invoke(app, ["files", "migrate", "--to", on_s3])
    assert first.exit_code == 0, first.output
    assert "3 copied, 0 already there" in first.output
    again = runner.invoke(app, ["files", "migrate", "--to", on_s3])
    assert "0 copied, 3 already there" in again.output

    back = FileStore(tmp_path / "back", 10**9)
    monkeypatch.setenv("OPPFLOW_FILES_URL", on_s3)
    get_settings.cache_clear()
    returned = runner.invoke(app, ["files", "migrate", "--to", back.url])
    assert returned.exit_code == 0, returned.output
    assert sorted(back.stored()) == sorted(local.stored())
    for sha256 in local.stored():
        assert back.open_path(sha256).read_bytes() == local.open_path(sha256).read_bytes()


def test_files_migrate_to_a_bad_url_is_one_line_and_exit_1() -> None:
    refused = CliRunner().invoke(app, ["files", "migrate", "--to", "ftp://elsewhere/x"])
    assert refused.exit_code == 1
    assert "not a file store URL" in refused.output


def test_a_backup_of_files_on_s3_restores_into_another_bucket_prefix(
    client: TestClient,
    factory: sessionmaker[Session],
    engine: Engine,
    on_s3: str,
    tmp_path: Path,
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the database half is the same as on disk (tests/backup); files are the point")
    headers = signed_in(client, factory, roles=["sales-manager"])
    deal = create_opportunity(client, headers)
    answer = upload(client, headers, deal["id"], "a.pdf", b"%PDF-1.4 " + uuid.uuid4().bytes)
    archive = tmp_path / "backup.tar.gz"
    manifest = service.backup(engine, default_store(), archive, lambda _: None)
    assert list(manifest.files) == [answer.json()["sha256"]]

    target = store_at(f"s3://{BUCKET}/{uuid.uuid4().hex}")
    restored = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    verified = service.restore(restored, target, archive, lambda _: None)
    restored.dispose()
    assert verified.files == 1
    assert sorted(target.stored()) == sorted(manifest.files)
