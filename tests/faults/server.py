"""The real service in a child process, on a committed database: started, killed, restarted.

Fault tests need what a thread-served app cannot give: a process that dies with SIGKILL
in the middle of a request, or runs under a limit the test process must not share.
"""

from __future__ import annotations

import base64
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import ISSUER

ROOT = Path(__file__).resolve().parents[2]
IDSVC = Path(sys.executable).with_name("idsvc")  # the installed console script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Deployment:
    """What every server process of one city shares: database, keys and settings."""

    database_url: str
    keys_dir: Path
    secret: bytes = field(default_factory=lambda: os.urandom(32))
    settings: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {**os.environ, "IDSVC_DATABASE_URL": self.database_url,
                "IDSVC_KEYS_DIR": str(self.keys_dir),
                "IDSVC_DATA_KEY": base64.b64encode(self.secret).decode(),
                "IDSVC_ISSUER": ISSUER,
                # A production start, except that the key files are not passphrase-encrypted.
                "IDSVC_ALLOW_UNENCRYPTED_KEYS": "true",
                # Every test request comes from 127.0.0.1: no per-address budget.
                "IDSVC_PARTNER_REQUESTS_PER_ADDRESS_PER_MINUTE": "0",
                **self.settings}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `idsvc ARGS` against this deployment, as an operator would."""
        return subprocess.run([str(IDSVC), *args], env=self.env(), cwd=ROOT, text=True,
                              capture_output=True, timeout=120, check=False)


def _limited(max_file_bytes: int) -> None:
    """In the child: no file may grow past `max_file_bytes` (a disk that is full), and
    the write that would is refused with EFBIG rather than killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))


class Server:
    """`uvicorn idsvc.app:create_app` in a child process, on a fresh port at each start."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, *, max_file_bytes: int | None = None) -> str:
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "idsvc.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=self.deployment.env(), cwd=ROOT,
            preexec_fn=None if max_file_bytes is None else lambda: _limited(max_file_bytes))
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                httpx.get(f"{self.url}/api/v1/languages", timeout=2)
                return self.url
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start within 60 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no rollback, no flush of anything pending."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """An orderly shutdown (SIGTERM), as a service manager would."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, **limits: int | None) -> str:
        self.stop()
        return self.start(**limits)

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)
