"""An import's file may be larger than an attachment (OPPFLOW_MAX_IMPORT_BYTES beside
OPPFLOW_MAX_UPLOAD_BYTES: a million rows of CSV pass 100 MB), through the API and the page, on
SQLite and PostgreSQL; its report is kept whatever its size, and past its own limit an import
is refused as any upload (413, nothing kept)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from oppflow.config import get_settings
from oppflow.db import unit_of_work
from oppflow.imports import runner
from oppflow.models import ImportJob
from tests.helpers import create_opportunity, signed_in
from tests.imports.test_jobs import upload as upload_import
from tests.related.test_files import upload as upload_file
from tests.web.support import web_login

ATTACHMENT_LIMIT, IMPORT_LIMIT = 2_000, 50_000


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPPFLOW_MAX_UPLOAD_BYTES", str(ATTACHMENT_LIMIT))
    monkeypatch.setenv("OPPFLOW_MAX_IMPORT_BYTES", str(IMPORT_LIMIT))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def accounts(rows: int) -> str:
    """Accounts, every other one without a name (refused, so the report grows too)."""
    lines = (f"Account {n:05},Lyon\n" if n % 2 else ",Nowhere at all\n" for n in range(rows))
    return "name,city\n" + "".join(lines)


def jobs(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(ImportJob)) or 0


def test_an_import_may_be_larger_than_an_attachment(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    text = accounts(1_000)
    assert ATTACHMENT_LIMIT < len(text) < IMPORT_LIMIT
    deal = create_opportunity(client, headers)
    refused = upload_file(client, headers, deal["id"], "accounts.csv", text.encode(), "text/csv")
    assert refused.status_code == 413, refused.text

    answer = upload_import(client, headers, text)
    assert answer.status_code == 202, answer.text
    assert runner.run_next(factory) is True
    done = client.get(answer.headers["Location"], headers=headers).json()
    assert (done["status"], done["created"], done["refused"]) == ("done", 500, 500), done
    report = client.get(f"{answer.headers['Location']}/report", headers=headers)
    assert len(report.content) > ATTACHMENT_LIMIT  # kept, although larger than an upload

    # The import page takes it too (a draft, its mapping screen next).
    csrf = web_login(client, "alice")
    page = client.post(
        f"/imports?csrf={csrf}",
        files={"file": ("accounts.csv", text.encode(), "text/csv")},
        data={"table": "accounts"},
        follow_redirects=False,
    )
    assert page.status_code == 303, page.text
    assert page.headers["location"].endswith("/mapping")


def test_an_import_past_its_limit_is_413_and_keeps_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    answer = upload_import(client, headers, accounts(5_000))
    assert answer.status_code == 413, answer.text
    assert answer.json()["limit"] == IMPORT_LIMIT
    assert jobs(factory) == 0
