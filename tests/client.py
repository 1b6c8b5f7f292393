"""The suite's HTTP client: Starlette's TestClient, with each request handed to the app once.

Starlette's ``TestClient`` runs the application on an event loop in a thread of its own and hands
each request over to it in about eight calls across threads (two events, a stream, a cancel
scope, the task, a wait, each chunk of the body). On this project's 2-CPU test machine each
hand-off costs about a quarter of a millisecond: 2.4 ms of a ``/healthz`` that takes 0.1 ms in
the application, and 9.6 ms of a page that takes 4.3. ``AppClient`` sends the whole request
through httpx's own ASGI transport in one call to that loop and gets the answer back whole.

The application, its middleware, its lifespan (``with AppClient(app)`` still runs it), the
cookies, redirects, ``raise_server_exceptions`` and the client address (``testclient`` unless
``client=`` says otherwise) are those of the ``TestClient``. What differs: an answer is read
whole before it is returned, so a streamed answer arrives in one piece (no test reads an endless
one); the lifespan's state does not reach the requests, nor ``response.template``, and there are
no WebSockets (the application has neither).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oppflow.api.app import create_app

CLIENT_ADDRESS = ("testclient", 50000)


class _OneHandOff(httpx.BaseTransport):
    def __init__(
        self,
        client: TestClient,
        *,
        raise_server_exceptions: bool,
        root_path: str,
        address: tuple[str, int],
    ):
        self._client = client
        self._asgi = httpx.ASGITransport(
            app=client.app,
            raise_app_exceptions=raise_server_exceptions,
            root_path=root_path,
            client=address,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # The TestClient's own portal (its loop thread, started by ``with``), as its requests use.
        with self._client._portal_factory() as portal:
            status, headers, body = portal.call(self._answer, request)
        return httpx.Response(status, headers=headers, content=body, request=request)

    async def _answer(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._asgi.handle_async_request(request)
        return response.status_code, response.headers, await response.aread()


class AppClient(TestClient):
    """``TestClient(app, ...)``, a request costing one hand-off to the app's loop."""

    def __init__(
        self,
        app: Any,
        *,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = CLIENT_ADDRESS,
        **options: Any,
    ) -> None:
        super().__init__(
            app,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            client=client,
            **options,
        )
        self._transport = _OneHandOff(
            self,
            raise_server_exceptions=raise_server_exceptions,
            root_path=root_path,
            address=client,
        )


# Applications built, free for the next test. FastAPI 0.165 builds an included router's routes
# (their dependencies, their answer models) on the first request that reaches the router, once
# per application: with an application per test, a quarter of the suite's time.
_FREE_APPS: list[FastAPI] = []


@contextmanager
def app_on(factory: sessionmaker[Session]) -> Iterator[FastAPI]:
    """``create_app(factory)``, reusing an application an earlier test has finished with (its
    routes built); while in use it is this caller's alone."""
    app = _FREE_APPS.pop() if _FREE_APPS else create_app(factory)
    app.state.session_factory = factory
    try:
        yield app
    finally:
        _FREE_APPS.append(app)
