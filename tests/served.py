"""Serve the application in processes of its own, on a test database, as production does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@contextmanager
def served(engine: Engine, workdir: Path, *, workers: int = 1) -> Iterator[str]:
    """``oppflow serve`` in another process on ``engine``'s database; yields its base URL."""
    port = free_port()
    env = {**os.environ, "OPPFLOW_DATABASE_URL": database_url(engine)}
    env["OPPFLOW_DATA_DIR"] = str(workdir)
    command = [sys.executable, "-m", "oppflow", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--no-migrate"]
    log = workdir / f"server-{port}.log"
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_healthy(base, server, log)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)


def _wait_until_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited:\n{log.read_text()}"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer within 30 s:\n{log.read_text()}")
