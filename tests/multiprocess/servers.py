"""Real app processes (uvicorn subprocesses) on one database and one keys directory."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from tests.conftest import ISSUER

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_process(url: str, keys_dir: Path, secret: bytes, *,
                poll_seconds: float) -> Iterator[httpx.Client]:
    """One `uvicorn idsvc.app:create_app` process, configured as a deployment would be
    (IDSVC_* variables only); a client on its base URL. Stopped on exit."""
    port = _free_port()
    env = {**os.environ, "IDSVC_DATABASE_URL": url, "IDSVC_KEYS_DIR": str(keys_dir),
           "IDSVC_DATA_KEY": base64.b64encode(secret).decode(), "IDSVC_ISSUER": ISSUER,
           "IDSVC_COOKIE_SECURE": "false", "IDSVC_CHANGE_POLL_SECONDS": str(poll_seconds)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "idsvc.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            _wait_until_up(client, process)
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app process exited with {process.returncode}")
        try:
            client.get("/api/v1/languages", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the app process did not start")


@contextmanager
def app_processes(count: int, url: str, keys_dir: Path, secret: bytes, *,
                  poll_seconds: float) -> Iterator[list[httpx.Client]]:
    with ExitStack() as stack:
        yield [stack.enter_context(app_process(url, keys_dir, secret,
                                               poll_seconds=poll_seconds))
               for _ in range(count)]
