"""Concurrent moves through a real HTTP server, and If-Match on PATCH, DELETE and moves.

The module shares one database and one served server per kind of database (starting the two
processes of a server is most of a test's time): each test signs in a user of its own and
works on records it creates, so the tests do not see each other's."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create_opportunity, qualify_fields, signed_in
from tests.served import served

H = dict[str, str]
ROUNDS = 3


def url(opportunity_id: str, tail: str = "") -> str:
    return f"/api/v1/opportunities/{opportunity_id}{tail}"


@pytest.fixture(scope="module")
def factory(module_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """conftest's ``client`` on the module's database."""
    return module_factory


@pytest.fixture(scope="module")
def server(
    module_engine: Engine, factory: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``oppflow serve --workers 2`` on the test database: two processes, each with one
    transaction at a time, so concurrent requests race in the database as in production."""
    with served(module_engine, tmp_path_factory.mktemp("server"), workers=2) as base:
        yield base


def someone(client: TestClient, factory: sessionmaker[Session], **more: Any) -> H:
    """A user of this test alone, signed in."""
    return signed_in(client, factory, f"user-{uuid.uuid4().hex[:12]}", **more)


def race(base: str, requests: list[Callable[[httpx.Client], httpx.Response]]) -> list[int]:
    """Send the requests at the same moment, each from its own client and thread."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | BaseException | None] = [None] * len(requests)

    def run(index: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            http.get("/healthz")  # connect before the barrier, so both start together
            barrier.wait()
            try:
                answers[index] = requests[index](http)
            except BaseException as error:  # reported below, not lost in the thread
                answers[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = []
    for answer in answers:
        assert isinstance(answer, httpx.Response), answer
        if answer.status_code >= 400:
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.status_code != 500, answer.text
        statuses.append(answer.status_code)
    return statuses


def next_rows(client: TestClient, headers: H, opportunity_id: str) -> list[Any]:
    rows = client.get(url(opportunity_id, "/history"), headers=headers).json()["items"]
    return [row for row in rows if row["kind"] == "next"]


def test_two_concurrent_next_with_if_match_move_once(
    client: TestClient, factory: sessionmaker[Session], server: str
) -> None:
    headers = someone(client, factory)
    links = qualify_fields(client, headers)
    for _ in range(ROUNDS):
        opportunity = create_opportunity(
            client, headers, customer_need="A CRM", proposed_solution="oppflow", **links
        )
        oid = opportunity["id"]
        read = client.get(url(oid), headers=headers)
        guarded = headers | {"If-Match": read.headers["ETag"]}

        def send(http: httpx.Client, oid: str = oid, guarded: H = guarded) -> httpx.Response:
            return http.post(url(oid, "/process/next"), headers=guarded)

        statuses = race(server, [send, send])
        assert sorted(statuses)[0] == 200, statuses
        assert statuses.count(200) == 1, statuses
        assert set(statuses) - {200} <= {409, 412}, statuses
        record = client.get(url(oid), headers=headers).json()
        assert (record["active_stage"], record["pipeline_phase"]) == ("develop", "2-Develop")
        assert record["version"] == read.json()["version"] + 1
        view = client.get(url(oid, "/process"), headers=headers).json()
        assert view["traversed_path"] == ["qualify", "develop"]
        assert len(next_rows(client, headers, oid)) == 1


def test_two_concurrent_next_without_if_match_move_once(
    client: TestClient, factory: sessionmaker[Session], server: str
) -> None:
    """Only Qualify is complete: a second next that saw the first one would stop at Develop's
    gate; one that did not must still not move twice."""
    headers = someone(client, factory)
    links = qualify_fields(client, headers)
    for _ in range(ROUNDS):
        opportunity = create_opportunity(client, headers, **links)
        oid = opportunity["id"]

        def send(http: httpx.Client, oid: str = oid) -> httpx.Response:
            return http.post(url(oid, "/process/next"), headers=headers)

        statuses = race(server, [send, send])
        assert sorted(statuses) == [200, 409], statuses
        view = client.get(url(oid, "/process"), headers=headers).json()
        assert view["active_stage"]["key"] == "develop"
        assert view["traversed_path"] == ["qualify", "develop"]
        assert len(next_rows(client, headers, oid)) == 1


def test_a_concurrent_patch_and_next_lose_nothing(
    client: TestClient, factory: sessionmaker[Session], server: str
) -> None:
    headers = someone(client, factory)
    links = qualify_fields(client, headers)
    for round_number in range(ROUNDS):
        opportunity = create_opportunity(client, headers, **links)
        oid = opportunity["id"]
        etag = client.get(url(oid), headers=headers).headers["ETag"]
        guarded = headers | {"If-Match": etag}
        need = f"Need {round_number}"

        def edit(
            http: httpx.Client, oid: str = oid, need: str = need, guarded: H = guarded
        ) -> httpx.Response:
            return http.patch(url(oid), json={"customer_need": need}, headers=guarded)

        def advance(http: httpx.Client, oid: str = oid, guarded: H = guarded) -> httpx.Response:
            return http.post(url(oid, "/process/next"), headers=guarded)

        statuses = race(server, [edit, advance])
        assert statuses.count(200) == 1, statuses
        record = client.get(url(oid), headers=headers).json()
        edited, moved = statuses[0] == 200, statuses[1] == 200
        assert (record["customer_need"] == need) is edited
        assert (record["active_stage"] == "develop") is moved
        assert len(next_rows(client, headers, oid)) == int(moved)


def test_a_stale_if_match_on_patch_is_412_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = someone(client, factory)
    opportunity = create_opportunity(client, headers, estimated_value=1000)
    oid = opportunity["id"]
    read = client.get(url(oid), headers=headers)
    etag = read.headers["ETag"]
    assert etag == f'"{read.json()["version"]}"'

    answer = client.patch(
        url(oid), json={"estimated_value": 2000}, headers=headers | {"If-Match": etag}
    )
    assert answer.status_code == 200, answer.text
    current = answer.json()
    assert current["version"] == read.json()["version"] + 1
    assert answer.headers["ETag"] == f'"{current["version"]}"'

    for stale in (etag, f"W/{etag}", "0", '"99"', "not-a-version"):
        answer = client.patch(
            url(oid), json={"estimated_value": 3000}, headers=headers | {"If-Match": stale}
        )
        assert answer.status_code == 412, (stale, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["status"] == 412
        assert client.get(url(oid), headers=headers).json() == current

    answer = client.patch(
        url(oid),
        json={"estimated_value": 4000},
        headers=headers | {"If-Match": f'W/"{current["version"]}"'},
    )
    assert answer.status_code == 200, answer.text
    answer = client.patch(
        url(oid), json={"estimated_value": 5000}, headers=headers | {"If-Match": "*"}
    )
    assert answer.status_code == 200, answer.text
    latest = client.get(url(oid), headers=headers)
    assert latest.json()["estimated_value"] == 5000
    assert latest.headers["ETag"] == answer.headers["ETag"]
    assert latest.json()["version"] == current["version"] + 2


def test_a_stale_if_match_on_a_move_or_a_delete_is_412(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = someone(client, factory)
    opportunity = create_opportunity(client, headers, **qualify_fields(client, headers))
    oid = opportunity["id"]
    stale = headers | {"If-Match": client.get(url(oid), headers=headers).headers["ETag"]}
    client.patch(url(oid), json={"rating": "hot"}, headers=headers)
    before = client.get(url(oid), headers=headers).json()
    for method, tail, body in [
        ("POST", "/process/next", None),
        ("POST", "/process/abandon", None),
        ("POST", "/process/switch", {"process": "opportunity-sales-process"}),
        ("POST", "/win", {}),
        ("POST", "/lose", {}),
        ("DELETE", "", None),
    ]:
        answer = client.request(method, url(oid, tail), json=body, headers=stale)
        assert answer.status_code == 412, (method, tail, answer.text)
        assert client.get(url(oid), headers=headers).json() == before
    rows = client.get(url(oid, "/history"), headers=headers).json()["items"]
    assert [row["kind"] for row in rows] == ["start"]

    fresh = headers | {"If-Match": f'"{before["version"]}"'}
    answer = client.post(url(oid, "/process/next"), headers=fresh)
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] == f'"{before["version"] + 1}"'
    answer = client.delete(url(oid), headers=headers | {"If-Match": answer.headers["ETag"]})
    assert answer.status_code == 204, answer.text


QUICK_PROCESS = """\
key: quick-deal
name: {en: Quick deal, fr: Affaire rapide}
table: opportunity
stages:
- key: qualify
  name: {en: Qualify, fr: Qualifier}
  category: qualify
- key: close
  name: {en: Close, fr: Clôturer}
  category: close
"""


def test_two_concurrent_switches_start_one_instance(
    client: TestClient, factory: sessionmaker[Session], server: str
) -> None:
    headers = someone(client, factory)
    administrator = someone(client, factory, roles=["system-administrator"])
    answer = client.post("/api/v1/processes", json={"yaml": QUICK_PROCESS}, headers=administrator)
    assert answer.status_code == 201, answer.text
    for _ in range(ROUNDS):
        oid = create_opportunity(client, headers)["id"]

        def send(http: httpx.Client, oid: str = oid) -> httpx.Response:
            return http.post(
                url(oid, "/process/switch"), json={"process": "quick-deal"}, headers=headers
            )

        statuses = race(server, [send, send])
        assert sorted(statuses) == [200, 409], statuses
        view = client.get(url(oid, "/process"), headers=headers).json()
        assert view["process"]["key"] == "quick-deal"
        assert [other["process"]["key"] for other in view["instances"]] == [
            "opportunity-sales-process"
        ]
        rows = client.get(url(oid, "/history"), headers=headers).json()["items"]
        assert [row["kind"] for row in rows] == ["start", "switch"]


def test_a_concurrent_win_and_lose_close_once(
    client: TestClient, factory: sessionmaker[Session], server: str
) -> None:
    headers = someone(client, factory)
    for _ in range(ROUNDS):
        oid = create_opportunity(client, headers, estimated_value=1000)["id"]

        def win(http: httpx.Client, oid: str = oid) -> httpx.Response:
            return http.post(url(oid, "/win"), json={}, headers=headers)

        def lose(http: httpx.Client, oid: str = oid) -> httpx.Response:
            return http.post(url(oid, "/lose"), json={}, headers=headers)

        statuses = race(server, [win, lose])
        assert sorted(statuses) == [200, 409], statuses
        record = client.get(url(oid), headers=headers).json()
        closes = client.get(url(oid, "/closes"), headers=headers).json()
        assert len(closes) == 1
        assert closes[0]["outcome"] == record["state"] == ("won" if statuses[0] == 200 else "lost")
