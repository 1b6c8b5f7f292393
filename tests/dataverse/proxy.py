"""A small TLS-terminating reverse proxy, as a load balancer would stand in front of oppflow:
HTTPS with a certificate from a test authority (trustme) in front, plain HTTP behind, adding
``X-Forwarded-Proto: https``. One request per upstream connection keeps it simple."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

_DROPPED = (b"connection:", b"x-forwarded-proto:", b"forwarded:", b"keep-alive:")


def _rewritten(head: bytes) -> bytes:
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    kept = [lines[0], *(line for line in lines[1:] if not line.lower().startswith(_DROPPED))]
    kept += [b"X-Forwarded-Proto: https", b"Connection: close"]
    return b"\r\n".join(kept) + b"\r\n\r\n"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


async def _serve_one(
    upstream: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        up_reader, up_writer = await asyncio.open_connection(*upstream)
        up_writer.write(_rewritten(head))
        sending = asyncio.create_task(_pipe(reader, up_writer))
        await _pipe(up_reader, writer)
        sending.cancel()
        up_writer.close()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        with suppress(ConnectionError, ssl.SSLError):
            writer.close()


@contextmanager
def tls_proxy(upstream: tuple[str, int], context: ssl.SSLContext) -> Iterator[int]:
    """Serve HTTPS on a free port of 127.0.0.1 in a thread; yields the port."""
    loop = asyncio.new_event_loop()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(
            lambda r, w: _serve_one(upstream, r, w), "127.0.0.1", 0, ssl=context
        )

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def uvicorn_thread(app: Any) -> Iterator[int]:
    """``app`` served over real HTTP by uvicorn in a thread; yields its port. (Not ``oppflow
    serve``: on SQLite that also runs the webhook worker, whose writes make a request's
    read-then-write fail with "database is locked" now and then; see the report of issue 11.)"""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
