"""A real HTTP server that receives webhooks in tests (on 127.0.0.1, in a thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float


@dataclass
class Receiver:
    """What arrived while ``up``; answers 503 while down, after ``delay`` seconds."""

    url: str = ""
    up: bool = True
    delay: float = 0.0
    hang: threading.Event | None = None
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    in_flight: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [item.headers["webhook-id"] for item in self.received]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            started = time.monotonic()
            body = self.rfile.read(int(self.headers["content-length"]))
            event_id = self.headers["webhook-id"]
            with receiver.lock:
                receiver.in_flight[event_id] = receiver.in_flight.get(event_id, 0) + 1
                if receiver.in_flight[event_id] > 1:
                    receiver.overlaps.append(event_id)
            if receiver.hang is not None and not receiver.hang.is_set():
                # The first request hangs until the test lets go: a worker killed meanwhile
                # never hears an answer, so the attempt counts as lost, not received.
                receiver.hang.wait(30)
                return
            time.sleep(receiver.delay)
            with receiver.lock:
                receiver.in_flight[event_id] -= 1
                if receiver.up:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(headers, body, started, time.monotonic()))
                else:
                    receiver.refused += 1
            self.send_response(204 if receiver.up else 503)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(**options: object) -> Iterator[Receiver]:
    receiver = Receiver(**options)  # type: ignore[arg-type]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hang is not None:
            receiver.hang.set()
        server.shutdown()
        server.server_close()
        thread.join()
