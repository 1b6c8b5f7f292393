"""Webhook delivery throughput: one worker against two on PostgreSQL (the target is ≥ 1.6×).

Seeds opportunities through the services (their events come from the outbox), subscribes a
local receiver (a threading HTTP server on 127.0.0.1 that answers 204 after ``--latency``
milliseconds, as a real endpoint takes time), then, for 1 and 2 ``oppflow worker`` processes,
replays every event to it from scratch (the dispatcher's cursor back to the start, no
deliveries) and times the run from the replay until the receiver has every delivery.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rich.table import Table
from sqlalchemy import delete, func, select, update

from common import console, migrate_and_seed, postgres_url
from oppflow.db import unit_of_work
from oppflow.events import webhooks
from oppflow.events.webhook_schemas import WebhookCreate
from oppflow.models import Event, EventCursor, WebhookAttempt, WebhookDelivery

SCHEMA = "oppflow_bench_webhooks"


class Counter:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.ids: set[str] = set()
        self.duplicates = 0
        self.lock = threading.Lock()


def _handler(counter: Counter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            time.sleep(counter.latency)
            with counter.lock:
                event_id = self.headers["webhook-id"]
                counter.duplicates += event_id in counter.ids
                counter.ids.add(event_id)
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiver(latency: float) -> Iterator[tuple[str, Counter]]:
    counter = Counter(latency)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(counter))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", counter
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def workers(url: str, count: int) -> Iterator[None]:
    env = {**os.environ, "OPPFLOW_DATABASE_URL": url}
    command = [sys.executable, "-m", "oppflow", "worker", "--poll", "0.05"]
    started = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]
    try:
        time.sleep(2.0)  # imports and the first poll, before the clock starts
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait()


def replay(factory: object) -> None:
    """No deliveries, and the dispatcher back at the start: every event is owed again."""
    with unit_of_work(factory) as session:  # type: ignore[arg-type]
        session.execute(delete(WebhookAttempt))
        session.execute(delete(WebhookDelivery))
        session.execute(update(EventCursor).values(tx_id=0, seq=0))


def run(factory: object, url: str, counter: Counter, count: int, expected: int) -> float:
    counter.ids.clear()
    counter.duplicates = 0
    with workers(url, count):
        started = time.perf_counter()
        replay(factory)
        while len(counter.ids) < expected:
            time.sleep(0.01)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=300)
    parser.add_argument("--latency", type=float, default=10.0, help="ms per answer")
    options = parser.parse_args()
    url = postgres_url(SCHEMA)
    if url is None:
        return
    os.environ["OPPFLOW_WEBHOOK_ALLOW_HTTP"] = "true"
    os.environ["OPPFLOW_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    _, factory = migrate_and_seed(url, options.opportunities)
    with receiver(options.latency / 1000) as (hook, counter):
        with unit_of_work(factory) as session:
            data = WebhookCreate(url=hook, events=["opportunity.*", "lead.*"])
            webhooks.create(session, actor=None, data=data)
            expected = session.scalar(select(func.count()).select_from(Event)) or 0
        table = Table(title=f"Webhook delivery, {expected} events, {options.latency:g} ms answers")
        for column in ("workers", "seconds", "deliveries/s", "duplicates", "× one worker"):
            table.add_column(column, justify="right")
        first = 0.0
        for count in (1, 2):
            seconds = run(factory, url, counter, count, expected)
            rate = expected / seconds
            first = first or rate
            table.add_row(
                str(count), f"{seconds:.2f}", f"{rate:.0f}", str(counter.duplicates),
                f"{rate / first:.2f}",
            )  # fmt: skip
    console.print(table)
    factory.kw["bind"].dispose()


if __name__ == "__main__":
    main()
