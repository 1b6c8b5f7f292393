"""A database that fails is an error the server logs, not a refusal the user is asked to retry:
the web pages answered every database error as "The database is busy; try again" with 409 and
logged nothing, however broken the database was. A lock not granted in time is still that
refusal (tests/api/test_locks.py, a form of the web pages included)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from oppflow.db import make_engine
from tests.client import AppClient, app_on


def test_a_database_that_cannot_be_opened_is_an_error_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no such directory' / 'oppflow.db'}")
    with (
        app_on(sessionmaker(bind=unreachable)) as app,
        AppClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="oppflow.web"),
    ):
        answer = client.get("/login")
    assert answer.status_code == 500, answer.text
    assert "Something went wrong; try again." in answer.text
    assert "busy" not in answer.text
    assert "unexpected error on /login" in caplog.text
    unreachable.dispose()
