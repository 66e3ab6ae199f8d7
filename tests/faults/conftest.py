"""A server process on a committed scratch database, with a clerk's and an admin's token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.faults.invariants import all_problems
from tests.faults.server import Deployment, Server
from tests.live import committed_staff


@dataclass
class Running:
    deployment: Deployment
    server: Server
    clerk: dict[str, str]
    admin: dict[str, str]

    def client(self) -> httpx.Client:
        return self.server.client()

    def assert_consistent(self) -> None:
        """Every invariant holds and `idsvc audit verify` accepts the chain."""
        assert all_problems(self.deployment.database_url) == []
        audit = self.deployment.cli("audit", "verify")
        assert audit.returncode == 0, audit.stderr
        assert audit.stdout.startswith("ok:"), audit.stdout


@pytest.fixture
def running(scratch_url, tmp_path) -> Iterator[Running]:
    keys_dir = tmp_path / "keys"
    headers = committed_staff(scratch_url, keys_dir)
    deployment = Deployment(scratch_url, keys_dir)
    server = Server(deployment)
    server.start()
    try:
        yield Running(deployment, server, headers["clerk"], headers["admin"])
    finally:
        server.kill()
