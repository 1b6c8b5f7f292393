"""The retention of import jobs' files, on SQLite and PostgreSQL, on disk and on S3 (moto's
server): jobs finished (or drafts made) more than OPPFLOW_FILE_RETENTION_DAYS ago are deleted
with their upload and report, but a content an opportunity's file or a kept job shares stays,
and so does one uploaded again within the grace, whose job may not be committed yet; the
worker and ``oppflow files prune`` run it. Then the sweep removes the contents nothing names
(a deleted file's, an upload whose request failed) once past the grace.

Each test has a file store of its own: the sweep walks all of it, and ``age`` sets times back.
What killed processes leave in the store's directory (half an upload, a content set aside by a
removal that never decided) is cleared past the grace too.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.clock import utcnow
from oppflow.config import get_settings
from oppflow.db import unit_of_work
from oppflow.events import worker
from oppflow.imports import retention, runner
from oppflow.models import ImportJob
from oppflow.related.s3 import S3FileStore, StorageUnavailable
from oppflow.related.storage import GRACE, FileStore, Removal, default_store
from tests.helpers import create_opportunity, signed_in
from tests.imports.test_jobs import queued
from tests.related.test_files import backdate, keep_again, upload
from tests.storage.test_s3 import on_s3, s3_endpoint  # noqa: F401 - fixtures
from tests.web.support import web_login

runner_cli = CliRunner()


def accounts(*names: str) -> str:
    """A file of accounts (a row without a name is refused, so the report has a line)."""
    return "name,city\n" + "".join(f"{name},Lyon\n" for name in names)


@pytest.fixture(autouse=True)
def own_files_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPPFLOW_FILES_DIR", str(tmp_path / "files"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(params=["disk", "s3"])
def store(request: pytest.FixtureRequest) -> FileStore:
    if request.param == "s3":
        request.getfixturevalue("on_s3")
    return default_store()


def finished(client: TestClient, headers: dict[str, str], text: str, factory: Any) -> Any:
    job = queued(client, headers, text=text)
    assert runner.run_next(factory) is True
    return client.get(f"/api/v1/imports/{job['id']}", headers=headers).json()


def age(factory: sessionmaker[Session], job: dict[str, Any], days: int) -> None:
    """The job finished (or, a draft, was made) ``days`` ago, and its contents on disk were
    kept then (a bucket's times cannot be set: on S3 they stay those of the upload)."""
    at = utcnow() - timedelta(days=days)
    with unit_of_work(factory) as session:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == uuid.UUID(job["id"]))
            .values(finished_at=at, created_at=at)
        )
    for sha256 in contents(factory, job):
        if sha256 and default_store().path_of(sha256).exists():
            os.utime(default_store().path_of(sha256), (at.timestamp(), at.timestamp()))


def contents(factory: sessionmaker[Session], job: dict[str, Any]) -> tuple[str, str | None]:
    with unit_of_work(factory, read_only=True) as session:
        found = session.get(ImportJob, uuid.UUID(job["id"]))
        assert found is not None
        return found.file_sha256, found.report_sha256


def job_ids(factory: sessionmaker[Session]) -> set[str]:
    with unit_of_work(factory, read_only=True) as session:
        return {str(found) for found in session.scalars(select(ImportJob.id))}


def test_old_jobs_go_with_their_files_but_shared_contents_stay(
    client: TestClient, factory: sessionmaker[Session], store: FileStore
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    shared, twin = accounts("Attached", "Also attached"), accounts("Twin")
    deal = create_opportunity(client, headers)
    attached = upload(client, headers, deal["id"], "accounts.csv", shared.encode(), "text/csv")
    assert attached.status_code == 201, attached.text

    # (refused at another row than the recent one's: reports of the same rows are one content)
    old = finished(client, headers, accounts("Old", "Older", ""), factory)
    old_file, old_report = contents(factory, old)
    assert old_report is not None
    like_attachment = finished(client, headers, shared, factory)
    twin_old = finished(client, headers, twin, factory)
    recent = finished(client, headers, accounts("Recent", ""), factory)
    for job, days in ((old, 40), (like_attachment, 31), (twin_old, 40), (recent, 29)):
        age(factory, job, days)
    twin_live = queued(client, headers, text=twin)  # the same bytes, not yet run
    recent_files = contents(factory, recent)

    # No grace: on S3 the contents' times are those of their upload, seconds ago; the grace
    # has tests of its own below.
    pruned = retention.prune(factory, store, days=30, grace=timedelta(0))

    assert job_ids(factory) == {recent["id"], twin_live["id"]}
    # the old upload, its report, and the empty report of the two without a refused row
    assert pruned == retention.Pruned(jobs=3, files=3)
    assert not store.has(old_file)
    assert not store.has(old_report)
    assert all(store.has(sha) for sha in recent_files if sha)
    record = attached.json()
    assert store.has(record["sha256"])
    kept = client.get(f"/api/v1/files/{record['id']}/content", headers=headers)
    assert kept.content == shared.encode()
    assert runner.run_next(factory) is True  # the live twin still finds its upload
    again = client.get(f"/api/v1/imports/{twin_live['id']}", headers=headers).json()
    assert again["status"] == "done", again
    assert retention.prune(factory, store, days=30, grace=timedelta(0)) == retention.Pruned(0, 0)
    assert retention.prune(factory, store, days=0) == retention.Pruned(0, 0)  # keep for ever


def test_a_store_that_fails_keeps_the_jobs_for_the_next_run(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    job = finished(client, headers, accounts("Gone", ""), factory)
    age(factory, job, 40)
    down = default_store()

    def unavailable(sha256: str, since: object) -> Removal:
        raise StorageUnavailable(f"s3 delete {sha256[:8]}: no answer")

    down.remove_unless_kept_since = unavailable  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        retention.prune(factory, down, days=30)
    assert job_ids(factory) == {job["id"]}  # not deleted, so its contents are not forgotten
    assert retention.prune(factory, default_store(), days=30) == retention.Pruned(1, 2)
    assert job_ids(factory) == set()


def test_bytes_uploaded_again_during_a_prune_stay_with_their_old_job(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    text = accounts("Again", "")
    old = finished(client, headers, text, factory)
    age(factory, old, 40)
    upload_sha, report_sha = contents(factory, old)
    store = default_store()
    assert keep_again(store, text.encode()) == upload_sha

    assert retention.prune(factory, store, days=30) == retention.Pruned(0, 1)
    assert store.has(upload_sha), "the upload in flight finds its bytes"
    assert not store.has(report_sha or "")
    assert job_ids(factory) == {old["id"]}, "kept, so that the next run sees who names them"

    age(factory, old, 40)  # an hour later, and no job recorded the upload after all
    assert retention.prune(factory, store, days=30) == retention.Pruned(1, 1)
    assert not store.has(upload_sha)
    assert job_ids(factory) == set()


def test_drafts_left_past_retention_go_with_their_upload(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    signed_in(client, factory)
    csrf = web_login(client, "alice")
    for name in ("Forgotten", "Recent"):
        page = client.post(
            f"/imports?csrf={csrf}",
            files={"file": ("accounts.csv", accounts(name).encode(), "text/csv")},
            data={"table": "accounts"},
            follow_redirects=False,
        )
        assert page.status_code == 303, page.text
    with unit_of_work(factory, read_only=True) as session:
        drafts = [
            str(job.id)
            for job in session.scalars(
                select(ImportJob).order_by(ImportJob.file_name, ImportJob.created_at)
            )
        ]
    forgotten, recent = ({"id": job_id} for job_id in drafts)
    age(factory, forgotten, 40)
    age(factory, recent, 10)
    forgotten_sha, _ = contents(factory, forgotten)

    assert retention.prune(factory, default_store(), days=30) == retention.Pruned(1, 1)
    assert job_ids(factory) == {recent["id"]}
    assert not default_store().has(forgotten_sha)


@pytest.mark.usefixtures("on_s3")
def test_bytes_kept_again_on_s3_get_a_new_time() -> None:
    store = default_store()
    assert isinstance(store, S3FileStore)
    sha256 = keep_again(store, b"name\nContoso\n")
    first = store.client.head_object(Bucket=store.bucket, Key=store.key_of(sha256))
    time.sleep(1.1)  # the bucket's times are in whole seconds
    keep_again(store, b"name\nContoso\n")
    again = store.client.head_object(Bucket=store.bucket, Key=store.key_of(sha256))
    assert again["LastModified"] > first["LastModified"]
    kept = store.remove_unless_kept_since(sha256, again["LastModified"])
    assert (kept, store.has(sha256)) == (Removal.KEPT_RECENTLY, True)
    removed = store.remove_unless_kept_since(sha256, utcnow() + timedelta(seconds=1))
    assert (removed, store.has(sha256)) == (Removal.REMOVED, False)
    assert store.remove_unless_kept_since(sha256, utcnow()) is Removal.ABSENT


def test_files_prune_and_the_worker_delete_the_jobs_past_retention(
    client: TestClient, factory: sessionmaker[Session], cli_on_test_database: None
) -> None:
    headers = signed_in(client, factory)
    first = finished(client, headers, accounts("First", "", ""), factory)
    second = finished(client, headers, accounts("Second", ""), factory)
    age(factory, first, 40)
    age(factory, second, 10)

    result = runner_cli.invoke(app, ["files", "prune"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 import jobs and 2 stored files deleted\n"
    assert job_ids(factory) == {second["id"]}
    result = runner_cli.invoke(app, ["files", "prune", "--days", "5"])
    assert result.stdout == "1 import jobs and 2 stored files deleted\n"

    third = finished(client, headers, accounts("Third", ""), factory)
    age(factory, third, 40)
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run, args=(factory, stop), kwargs={"poll_seconds": 0.05}
    )
    thread.start()  # it prunes as it starts
    try:
        for _ in range(200):
            if not job_ids(factory):
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert job_ids(factory) == set()


def test_deleting_a_file_keeps_the_bytes_an_import_job_shares(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    text = accounts("Shared", "Bytes")
    deal = create_opportunity(client, headers)
    attached = upload(client, headers, deal["id"], "accounts.csv", text.encode(), "text/csv")
    assert attached.status_code == 201, attached.text
    job = queued(client, headers, text=text)

    deleted = client.delete(f"/api/v1/files/{attached.json()['id']}", headers=headers)

    assert deleted.status_code == 204, deleted.text
    assert default_store().has(attached.json()["sha256"]), "the job's upload is the same content"
    assert runner.run_next(factory) is True
    done = client.get(f"/api/v1/imports/{job['id']}", headers=headers).json()
    assert (done["status"], done["created"]) == ("done", 2), done


def test_the_sweep_removes_what_nothing_names_once_past_the_grace(
    client: TestClient, factory: sessionmaker[Session], store: FileStore
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    deal = create_opportunity(client, headers)
    attached = upload(client, headers, deal["id"], "kept.txt", b"attached\n", "text/plain").json()
    gone = upload(client, headers, deal["id"], "gone.txt", b"deleted\n", "text/plain").json()
    assert client.delete(f"/api/v1/files/{gone['id']}", headers=headers).status_code == 204
    job = queued(client, headers, text=accounts("Queued"))
    job_upload, _ = contents(factory, job)
    failed = keep_again(store, b"the upload of a request that then failed\n")
    named = {attached["sha256"], job_upload}
    # The deleted file's bytes were kept seconds ago: the delete left them.
    assert set(store.stored()) == named | {gone["sha256"], failed}

    assert retention.prune(factory, store, days=30) == retention.Pruned(0, 0), "all recent"
    # OPPFLOW_FILE_SWEEP=false, for a store that other databases share: nothing unnamed goes.
    unswept = retention.prune(factory, store, days=30, grace=timedelta(0), sweeping=False)
    assert unswept == retention.Pruned(0, 0)
    assert retention.prune(factory, store, days=30, grace=timedelta(0)) == retention.Pruned(0, 2)
    assert set(store.stored()) == named
    assert runner.run_next(factory) is True  # the job still finds its upload
    assert client.get(f"/api/v1/imports/{job['id']}", headers=headers).json()["status"] == "done"
    record = client.get(f"/api/v1/files/{attached['id']}/content", headers=headers)
    assert record.content == b"attached\n"


def test_a_deleted_files_bytes_go_with_the_first_sweep_past_the_grace(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # the store is walked in several batches
    headers = signed_in(client, factory)
    deal = create_opportunity(client, headers)
    files = [
        upload(client, headers, deal["id"], f"{name}.txt", name.encode(), "text/plain").json()
        for name in ("deleted", "deleted and uploaded again", "still attached")
    ]
    for record in files[:2]:
        assert client.delete(f"/api/v1/files/{record['id']}", headers=headers).status_code == 204
    job = finished(client, headers, accounts("Recent", ""), factory)
    age(factory, job, 10)  # within the retention: its upload and report are named
    for record in files:
        backdate(record["sha256"], hours=2)
    store = default_store()
    keep_again(store, b"deleted and uploaded again")  # its file not committed yet

    assert retention.prune(factory, store, days=30) == retention.Pruned(0, 1)
    remaining = {record["sha256"] for record in files[1:]} | set(contents(factory, job))
    assert set(store.stored()) == remaining

    backdate(files[1]["sha256"], hours=2)  # an hour later, and no file named it after all
    assert retention.prune(factory, store, days=30) == retention.Pruned(0, 1)
    assert set(store.stored()) == remaining - {files[1]["sha256"]}
    assert job_ids(factory) == {job["id"]}


def test_what_killed_processes_left_in_the_store_is_cleared_once_past_the_grace(
    factory: sessionmaker[Session],
) -> None:
    store = default_store()
    two_hours_ago = int((utcnow() - timedelta(hours=2)).timestamp())
    # A removal killed between setting the content aside and deciding: it is put back.
    undecided = keep_again(store, b"set aside by a removal that was killed\n")
    backdate(undecided, hours=2)
    path = store.path_of(undecided)
    os.rename(path, path.with_name(f"{undecided}.removing-{two_hours_ago}-{uuid.uuid4().hex}"))
    # The same, but the bytes were stored again meanwhile: the copy aside goes, and the bytes
    # stored again keep their recent time (a rename back would give them the old one).
    stored_again = keep_again(store, b"set aside, then stored again\n")
    again = store.path_of(stored_again)
    aside = again.with_name(f"{stored_again}.removing-{two_hours_ago}-{uuid.uuid4().hex}")
    shutil.copy(again, aside)
    os.utime(aside, (two_hours_ago, two_hours_ago))
    # A removal running now: its content aside is left to it.
    running = keep_again(store, b"being removed right now\n")
    moving = store.path_of(running)
    now = int(utcnow().timestamp())
    os.rename(moving, moving.with_name(f"{running}.removing-{now}-{uuid.uuid4().hex}"))
    half_upload = store.writer()
    half_upload.write(b"the first half of an upl")
    half_upload.finish()
    half_download = again.with_name("fetch-abc123")
    half_download.write_bytes(b"the first half of a downl")
    arriving = store.writer()
    arriving.write(b"an upload still arriving")
    for left in (half_upload.path, half_download):
        os.utime(left, (two_hours_ago, two_hours_ago))

    assert store.tidy(utcnow() - GRACE) == 4
    assert not half_upload.path.exists()
    assert not half_download.exists()
    assert arriving.path.exists(), "written within the grace: its upload goes on"
    assert [p.name.partition(".")[0] for p in store.root.glob("??/*.removing-*")] == [running]
    assert set(store.stored()) == {undecided, stored_again}
    assert utcnow().timestamp() - again.stat().st_mtime < 60, "the bytes stored again stay new"
    # The content put back is unnamed and was not kept within the grace: the sweep removes it.
    assert retention.prune(factory, store, days=30) == retention.Pruned(0, 1)
    assert set(store.stored()) == {stored_again}
    arriving.discard()
