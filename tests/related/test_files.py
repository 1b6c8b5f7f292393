"""Files on an opportunity through HTTP: upload, list, download, delete; limits and bad input;
the bytes of a deleted file stay while an upload of the same bytes may not be committed."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.files import content_disposition
from oppflow.clock import utcnow
from oppflow.config import get_settings
from oppflow.db import unit_of_work
from oppflow.imports import retention
from oppflow.models import OpportunityFile
from oppflow.related.storage import FileStore, default_store
from tests.helpers import create_opportunity, signed_in, user_in_unit

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
BOUNDARY = "oppflow-test-boundary"


def office(folder: str, *, macros: bool = False) -> bytes:
    """A minimal Office Open XML package (a zip with the parts that make it one)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<document/>")
        if macros:
            archive.writestr(f"{folder}/vbaProject.bin", b"\x00macro")
    return buffer.getvalue()


def multipart(filename: str, content: bytes, content_type: str, **fields: str) -> bytes:
    """A multipart body with the file name as raw UTF-8, as browsers send it (httpx would
    percent-encode control characters)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    body = head.encode() + content + b"\r\n"
    for name, value in fields.items():
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    return body + f"--{BOUNDARY}--\r\n".encode()


def upload(
    client: TestClient,
    headers: dict[str, str],
    opportunity_id: str,
    filename: str,
    content: bytes,
    content_type: str = "application/octet-stream",
    **fields: str,
) -> Any:
    return client.post(
        f"/api/v1/opportunities/{opportunity_id}/files",
        content=multipart(filename, content, content_type, **fields),
        headers=headers | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def stored(files_dir: Path) -> list[Path]:
    """Every file under the store, temporary ones included."""
    return sorted(path for path in files_dir.rglob("*") if path.is_file())


def file_rows(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(OpportunityFile)) or 0


def keep_again(store: FileStore, data: bytes) -> str:
    """The same bytes uploaded again, their file or job not yet recorded: an upload in flight."""
    writer = store.writer()
    writer.write(data)
    return store.keep(writer.finish()).name


def backdate(sha256: str, hours: float) -> None:
    """The content on disk was last kept ``hours`` ago."""
    at = (utcnow() - timedelta(hours=hours)).timestamp()
    os.utime(default_store().path_of(sha256), (at, at))


def commit_file(factory: sessionmaker[Session], opportunity_id: str, sha256: str) -> uuid.UUID:
    """What an upload in flight commits once its bytes are kept: its file's row."""
    record = OpportunityFile(
        opportunity_id=uuid.UUID(opportunity_id),
        name="again.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256=sha256,
    )
    with unit_of_work(factory) as session:
        session.add(record)
    return record.id


@pytest.fixture
def store(files_dir: Path) -> Iterator[Path]:
    """The file store, emptied around each test (the directory is shared by a worker's tests)."""
    for path in stored(files_dir):
        path.unlink()
    yield files_dir
    for path in stored(files_dir):
        path.unlink()


def test_a_file_is_uploaded_listed_downloaded_and_deleted(
    client: TestClient, factory: sessionmaker[Session], store: Path
) -> None:
    headers = signed_in(client, factory)
    me = client.get("/api/v1/auth/me", headers=headers).json()["id"]
    oid = create_opportunity(client, headers)["id"]
    answer = upload(client, headers, oid, "Proposal v1.pdf", PDF, "application/pdf")
    assert answer.status_code == 201, answer.text
    record = answer.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert record["name"] == "Proposal v1.pdf"
    assert record["content_type"] == "application/pdf"
    assert (record["size"], record["sha256"]) == (len(PDF), digest)
    assert (record["opportunity_id"], record["uploaded_by_id"]) == (oid, me)
    # Content-addressed on disk: the SHA-256 names the bytes; no temporary file is left.
    assert stored(store) == [store / digest[:2] / digest]
    assert (store / digest[:2] / digest).read_bytes() == PDF

    listed = client.get(f"/api/v1/opportunities/{oid}/files", headers=headers).json()["items"]
    assert listed == [record]
    assert client.get(f"/api/v1/files/{record['id']}", headers=headers).json() == record
    content = client.get(f"/api/v1/files/{record['id']}/content", headers=headers)
    assert content.status_code == 200, content.text
    assert content.content == PDF
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["content-disposition"] == (
        "attachment; filename=\"Proposal v1.pdf\"; filename*=UTF-8''Proposal%20v1.pdf"
    )
    assert "nosniff" in content.headers["x-content-type-options"]

    gone = client.delete(f"/api/v1/files/{record['id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    assert client.get(f"/api/v1/files/{record['id']}/content", headers=headers).status_code == 404
    assert client.get(f"/api/v1/opportunities/{oid}/files", headers=headers).json()["items"] == []
    # Kept a moment ago (its own upload), so left for the sweep, which removes it once past
    # the grace (none here) with nothing naming it.
    assert stored(store) == [store / digest[:2] / digest]
    assert retention.sweep(factory, default_store(), grace=timedelta(0)) == 1
    assert stored(store) == []


def test_the_same_bytes_are_stored_once_and_kept_while_a_file_has_them(
    client: TestClient, factory: sessionmaker[Session], store: Path
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    first = upload(client, headers, oid, "a.pdf", PDF).json()
    second = upload(client, headers, oid, "b.pdf", PDF).json()
    assert first["sha256"] == second["sha256"]
    assert len(stored(store)) == 1
    assert client.delete(f"/api/v1/files/{first['id']}", headers=headers).status_code == 204
    kept = client.get(f"/api/v1/files/{second['id']}/content", headers=headers)
    assert kept.content == PDF


def test_the_bytes_of_an_old_file_go_when_it_is_deleted(
    client: TestClient, factory: sessionmaker[Session], store: Path
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    record = upload(client, headers, oid, "old.pdf", PDF).json()
    backdate(record["sha256"], hours=2)
    assert client.delete(f"/api/v1/files/{record['id']}", headers=headers).status_code == 204
    assert stored(store) == []


def test_a_store_that_fails_after_the_delete_leaves_the_bytes_to_the_sweep(
    client: TestClient,
    factory: sessionmaker[Session],
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    record = upload(client, headers, oid, "old.pdf", PDF).json()
    backdate(record["sha256"], hours=2)

    def unavailable(*_args: Any) -> None:
        raise OSError("the store does not answer")

    monkeypatch.setattr(FileStore, "remove_unless_kept_since", unavailable)
    # The deletion is committed, so it is answered as done, not as an error.
    assert client.delete(f"/api/v1/files/{record['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/files/{record['id']}", headers=headers).status_code == 404
    assert "left to the sweep: the store does not answer" in caplog.text
    assert len(stored(store)) == 1
    monkeypatch.undo()
    assert retention.sweep(factory, default_store(), grace=timedelta(hours=1)) == 1
    assert stored(store) == []


def test_bytes_uploaded_again_while_their_last_file_is_deleted_stay_for_the_new_file(
    client: TestClient, factory: sessionmaker[Session], store: Path
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    old = upload(client, headers, oid, "terms.pdf", PDF).json()
    backdate(old["sha256"], hours=2)  # uploaded long ago
    # The same bytes uploaded again: kept (their time refreshed), the file not committed yet,
    # so the delete's query cannot see it.
    assert keep_again(default_store(), PDF) == old["sha256"]

    assert client.delete(f"/api/v1/files/{old['id']}", headers=headers).status_code == 204
    new = commit_file(factory, oid, old["sha256"])

    content = client.get(f"/api/v1/files/{new}/content", headers=headers)
    assert (content.status_code, content.content) == (200, PDF)
    assert retention.sweep(factory, default_store(), grace=timedelta(0)) == 0, "it is named"


@pytest.mark.parametrize(
    ("name", "content", "declared", "media_type"),
    [
        ("Angebot für Müller.pdf", PDF, "application/pdf", "application/pdf"),
        ("logo.PNG", PNG, "image/png", "image/png"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg", "image/jpeg"),
        ("notes.txt", "Réunion lundi\n".encode(), "text/plain", "text/plain"),
        ("figures.csv", b"a,b\n1,2\n", "application/vnd.ms-excel", "text/csv"),
        ("readme.md", b"# Plan\n", "text/markdown", "text/markdown"),
        (
            "proposal.docx",
            office("word"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "prices.xlsx",
            office("xl"),
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ],
)
def test_accepted_types(
    client: TestClient,
    factory: sessionmaker[Session],
    store: Path,
    name: str,
    content: bytes,
    declared: str,
    media_type: str,
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    answer = upload(client, headers, oid, name, content, declared)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["name"], answer.json()["content_type"]) == (name, media_type)
    download = client.get(f"/api/v1/files/{answer.json()['id']}/content", headers=headers)
    assert download.content == content
    assert download.headers["content-type"].startswith(media_type)


def test_a_name_field_renames_the_upload(
    client: TestClient, factory: sessionmaker[Session], store: Path
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    answer = upload(client, headers, oid, "scan0001.pdf", PDF, name="Signed contract.pdf")
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "Signed contract.pdf"


@pytest.mark.parametrize(
    ("case", "name", "content", "declared", "status"),
    [
        ("path traversal", "../../etc/passwd", PDF, "application/pdf", 422),
        ("path traversal with an extension", "../../etc/passwd.pdf", PDF, "application/pdf", 422),
        ("windows path", "..\\..\\boot.pdf", PDF, "application/pdf", 422),
        ("absolute path", "/etc/passwd.txt", b"root", "text/plain", 422),
        ("dot dot", "..", PDF, "application/pdf", 422),
        ("hidden file", ".htaccess.txt", b"x", "text/plain", 422),
        ("control character", "report\x07.pdf", PDF, "application/pdf", 422),
        ("right-to-left override", "invoice\u202efdp.exe", PDF, "application/pdf", 422),
        ("name too long", "a" * 197 + ".pdf", PDF, "application/pdf", 422),
        ("blank name", "   ", PDF, "application/pdf", 422),
        ("empty file", "empty.pdf", b"", "application/pdf", 422),
        ("executable named as a PDF", "invoice.pdf", b"MZ\x90\x00" + PDF, "application/pdf", 415),
        ("ELF binary", "tool.txt", b"\x7fELF\x02\x01\x01", "text/plain", 415),
        ("script", "run.txt", b"#!/bin/sh\nrm -rf /\n", "text/plain", 415),
        ("executable extension", "setup.exe", PDF, "application/octet-stream", 415),
        ("html", "page.html", b"<html><script>", "text/html", 415),
        ("no extension", "README", b"hello", "text/plain", 415),
        ("text that is not a PDF", "fake.pdf", b"hello", "application/pdf", 415),
        ("PDF declared as an image", "real.pdf", PDF, "image/png", 415),
        ("binary text", "data.txt", b"abc\x00def", "text/plain", 415),
        ("not UTF-8", "latin.txt", "café".encode("latin-1"), "text/plain", 415),
        ("zip named as a Word file", "x.docx", office("xl"), "application/octet-stream", 415),
        ("macros", "m.docx", office("word", macros=True), "application/octet-stream", 415),
    ],
)
def test_bad_files_are_refused_and_nothing_is_kept(
    client: TestClient,
    factory: sessionmaker[Session],
    store: Path,
    case: str,
    name: str,
    content: bytes,
    declared: str,
    status: int,
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    answer = upload(client, headers, oid, name, content, declared)
    assert answer.status_code == status, f"{case}: {answer.text}"
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert file_rows(factory) == 0
    assert stored(store) == []


def test_a_file_over_the_limit_answers_413_and_nothing_is_kept(
    client: TestClient,
    factory: sessionmaker[Session],
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    monkeypatch.setenv("OPPFLOW_MAX_UPLOAD_BYTES", "1000")
    get_settings.cache_clear()
    try:
        at_limit = upload(client, headers, oid, "ok.txt", b"x" * 1000, "text/plain")
        assert at_limit.status_code == 201, at_limit.text
        over = upload(client, headers, oid, "big.txt", b"x" * 1001, "text/plain")
        assert over.status_code == 413, over.text
        assert over.json()["limit"] == 1000
        # A body far over the limit is refused from its Content-Length, before it is read.
        huge = upload(client, headers, oid, "huge.txt", b"x" * 100_000, "text/plain")
        assert huge.status_code == 413, huge.text
    finally:
        monkeypatch.delenv("OPPFLOW_MAX_UPLOAD_BYTES")
        get_settings.cache_clear()
    assert file_rows(factory) == 1
    assert len(stored(store)) == 1


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("JSON body", 415),
        ("form without a file", 415),
        ("multipart without a file part", 422),
        ("two files", 422),
        ("unexpected part", 422),
        ("truncated body", 422),
        ("no boundary", 415),
    ],
)
def test_malformed_uploads_are_refused(
    client: TestClient, factory: sessionmaker[Session], store: Path, case: str, status: int
) -> None:
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    path = f"/api/v1/opportunities/{oid}/files"
    boundary = "b0undary"
    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def part(name: str, content: bytes, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content

    end = f"\r\n--{boundary}--\r\n".encode()
    if case == "JSON body":
        answer = client.post(path, json={"file": "x"}, headers=headers)
    elif case == "form without a file":
        answer = client.post(path, data={"name": "x.pdf"}, headers=headers)
    elif case == "no boundary":
        answer = client.post(
            path, content=b"x", headers=headers | {"Content-Type": "multipart/form-data"}
        )
    else:
        bodies = {
            "multipart without a file part": part("name", b"x.pdf") + end,
            "two files": part("file", PDF, "a.pdf") + b"\r\n" + part("file", PDF, "b.pdf") + end,
            "unexpected part": part("other", b"1") + end,
            "truncated body": part("file", PDF, "a.pdf"),
        }
        answer = client.post(path, content=bodies[case], headers=headers | multipart)
    assert answer.status_code == status, f"{case}: {answer.text}"
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert file_rows(factory) == 0
    assert stored(store) == []


def test_file_content_is_served_only_to_those_who_can_read_the_opportunity(
    client: TestClient, factory: sessionmaker[Session], store: Path
) -> None:
    alice = user_in_unit(client, factory, "alice", "West")
    bob = user_in_unit(client, factory, "bob", "West")
    erin = user_in_unit(client, factory, "erin", "East")
    oid = create_opportunity(client, alice)["id"]
    record = upload(client, alice, oid, "price list.pdf", PDF).json()
    # Bob reads the opportunity (same unit): he reads the file, but may not add or delete.
    assert client.get(f"/api/v1/files/{record['id']}/content", headers=bob).content == PDF
    assert upload(client, bob, oid, "mine.pdf", PDF).status_code == 403
    assert client.delete(f"/api/v1/files/{record['id']}", headers=bob).status_code == 403
    # Erin (another unit) cannot read the opportunity: the file does not exist for her.
    for path in (f"files/{record['id']}", f"files/{record['id']}/content"):
        answer = client.get(f"/api/v1/{path}", headers=erin)
        assert answer.status_code == 404, answer.text
        assert PDF not in answer.content
    assert client.get(f"/api/v1/opportunities/{oid}/files", headers=erin).status_code == 404
    assert client.delete(f"/api/v1/files/{record['id']}", headers=erin).status_code == 404
    assert upload(client, erin, oid, "x.pdf", PDF).status_code == 404
    assert client.get(f"/api/v1/files/{uuid.uuid4()}/content", headers=alice).status_code == 404
    assert file_rows(factory) == 1
    # On the sales team, Erin reads it.
    erin_id = client.get("/api/v1/auth/me", headers=erin).json()["id"]
    client.post(f"/api/v1/opportunities/{oid}/sales-team", json={"user_id": erin_id}, headers=alice)
    assert client.get(f"/api/v1/files/{record['id']}/content", headers=erin).content == PDF


def test_content_disposition_names_are_safe_and_exact() -> None:
    assert content_disposition("Angebot für Müller.pdf") == (
        'attachment; filename="Angebot fur Muller.pdf"; '
        "filename*=UTF-8''Angebot%20f%C3%BCr%20M%C3%BCller.pdf"
    )
    assert content_disposition('a"b;c\\d.pdf') == (
        "attachment; filename=\"a_b_c_d.pdf\"; filename*=UTF-8''a%22b%3Bc%5Cd.pdf"
    )
    assert content_disposition("報告.pdf").startswith('attachment; filename=".pdf"; ')
