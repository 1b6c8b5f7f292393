"""A slow upload does not hold SQLite's write lock while its body arrives: the request has
read the caller and checked its rights, then waits for the bytes, and others write meanwhile
(a writer's transaction holds the lock from its first statement: ``oppflow.db``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from oppflow.db import unit_of_work
from oppflow.models import SecurityEpoch
from tests.helpers import create_opportunity, signed_in
from tests.served import served

BOUNDARY = "oppflow-slow-upload"


def _slow_body(go_on: threading.Event) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"'
        "\r\nContent-Type: text/plain\r\n\r\nCall back on Monday.\n"
    ).encode()
    go_on.wait(timeout=30)
    yield f"See you then.\n\r\n--{BOUNDARY}--\r\n".encode()


def test_others_write_while_an_upload_arrives(
    engine: Engine, client: TestClient, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    headers = signed_in(client, factory)
    oid = create_opportunity(client, headers)["id"]
    go_on, answers = threading.Event(), []
    with served(engine, tmp_path) as base:

        def upload() -> None:
            answers.append(
                httpx.post(
                    f"{base}/api/v1/opportunities/{oid}/files",
                    content=_slow_body(go_on),
                    headers={
                        **headers,
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    },
                    timeout=60,
                )
            )

        sender = threading.Thread(target=upload)
        sender.start()
        try:
            go_on.wait(timeout=1)  # the server has read the caller and waits for the rest
            with unit_of_work(factory) as session:  # failed as "database is locked" after 5 s
                session.execute(update(SecurityEpoch).values(value=SecurityEpoch.value + 1))
        finally:
            go_on.set()
            sender.join(timeout=60)
    assert answers[0].status_code == 201, answers[0].text
