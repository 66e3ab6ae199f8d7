"""PostgreSQL stopped and started again under load: meanwhile the service answers 503
`database_unavailable` with Retry-After, never 500, and afterwards it works again by
itself: requests, the batched verification-event writer and the change-feed follower,
in both server processes, which are never restarted.

The cluster is the test's own (tests/faults/pgserver.py), not the shared one.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from idsvc.db import make_engine
from tests.faults import pgserver
from tests.faults.invariants import all_problems, stored_redemptions
from tests.faults.seed import Partner, approved_card, card_qr, partner
from tests.faults.server import Deployment, Server
from tests.live import committed_staff

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not pgserver.available(), reason="no PostgreSQL binaries")]


@pytest.fixture
def cluster() -> Iterator[pgserver.Cluster]:
    with pgserver.throwaway_cluster() as made:
        yield made


class Load:
    """Two clients per server, each sending a verification, a staff read (audited: a
    write) and a redemption in turn, noting every answer."""

    def __init__(self, servers: list[Server], clerk: dict[str, str], museum: Partner,
                 number: str, qr: str) -> None:
        self.servers, self.clerk, self.museum = servers, clerk, museum
        self.number, self.qr = number, qr
        self.answers: Counter[tuple[int, str | None, str | None]] = Counter()
        self.redeemed: dict[str, int] = {}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(server,))
                         for server in servers for _ in range(2)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _send(self, client: httpx.Client, turn: int) -> tuple[httpx.Response, str | None]:
        if turn % 3 == 0:
            return self.museum.verify(client, self.qr), None
        if turn % 3 == 1:
            return client.get(f"/api/v1/cards/{self.number}", headers=self.clerk), None
        key = uuid.uuid4().hex
        return self.museum.redeem(client, self.number, key), key

    def _run(self, server: Server) -> None:
        with server.client(timeout=30) as client:
            turn = 0
            while not self._stop.is_set():
                turn += 1
                try:
                    response, key = self._send(client, turn)
                except httpx.TransportError as exc:  # the server itself must stay up
                    with self._lock:
                        self.failures.append(type(exc).__name__)
                    continue
                error = response.json().get("error") if response.status_code >= 400 else None
                with self._lock:
                    self.answers[(response.status_code, error,
                                  response.headers.get("Retry-After"))] += 1
                    if key and response.status_code == 201:
                        self.redeemed[key] = response.json()["id"]
                time.sleep(0.01)


def _until_answers(server: Server, clerk: dict[str, str], number: str) -> None:
    deadline = time.monotonic() + 30
    with server.client() as client:
        while client.get(f"/api/v1/cards/{number}", headers=clerk).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover by itself"
            time.sleep(0.2)


def _until_verifies(server: Server, museum: Partner, qr: str) -> None:
    deadline = time.monotonic() + 30
    with server.client() as client:
        while museum.verify(client, qr).status_code != 200:
            assert time.monotonic() < deadline, "the worker never learnt of the partner key"
            time.sleep(0.05)


def _events(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM verification_events")).scalar_one())
    finally:
        engine.dispose()


def test_the_service_rides_out_a_postgresql_restart(cluster, tmp_path):
    keys_dir = tmp_path / "keys"
    headers = committed_staff(cluster.url, keys_dir)
    clerk, admin = headers["clerk"], headers["admin"]
    deployment = Deployment(cluster.url, keys_dir, settings={
        "IDSVC_VERIFICATION_EVENTS": "batched", "IDSVC_CHANGE_POLL_SECONDS": "0.25"})
    servers = [Server(deployment), Server(deployment)]  # two workers of one city
    for server in servers:
        server.start()
    try:
        with servers[0].client() as client:
            number = approved_card(client, clerk, 0)
            qr = card_qr(client, clerk, number)
            museum = partner(client, admin)
        for server in servers:  # the other worker learns of the new key within a poll
            _until_verifies(server, museum, qr)
        with Load(servers, clerk, museum, number, qr) as load:
            time.sleep(1)
            for mode in ("fast", "immediate"):  # an orderly restart, then a crash
                cluster.stop(mode)
                with servers[1].client() as client:  # deterministic: the database is down
                    down = client.get(f"/api/v1/cards/{number}", headers=clerk)
                    page = client.get("/benefits")
                assert (down.status_code, down.json()["error"]) == (503, "database_unavailable")
                assert down.headers["Retry-After"]
                assert page.status_code == 503
                assert page.headers["content-type"].startswith("text/html")
                time.sleep(1)
                cluster.start()
                for server in servers:
                    _until_answers(server, clerk, number)
                time.sleep(1)
        assert load.failures == []
        assert any(status == 503 for status, _, _ in load.answers), "no outage was seen"
        assert {status for status, _, _ in load.answers} <= {200, 201, 503}, load.answers
        assert all(error == "database_unavailable" and retry
                   for status, error, retry in load.answers if status == 503), load.answers
        assert all(server.process and server.process.poll() is None for server in servers)

        # The batched event writer of each worker stores again.
        before = _events(cluster.url)
        for server in servers:
            with server.client() as client:
                for _ in range(5):
                    assert museum.verify(client, qr).json()["result"] == "valid"
        deadline = time.monotonic() + 10
        while _events(cluster.url) < before + 10:
            assert time.monotonic() < deadline, "verification events are no longer stored"
            time.sleep(0.2)

        # A revocation on one worker reaches the other through the change feed.
        with servers[0].client() as client:
            r = client.post(f"/api/v1/cards/{number}/revoke", json={"reason": "stolen"},
                            headers=clerk)
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 10
        with servers[1].client() as client:
            while museum.verify(client, qr).json()["result"] != "revoked":
                assert time.monotonic() < deadline, "the other worker missed the revocation"
                time.sleep(0.1)

        stored = stored_redemptions(cluster.url)
        assert all(stored.get(key) == rid for key, rid in load.redeemed.items())
        assert all_problems(cluster.url) == []
        audit = deployment.cli("audit", "verify")
        assert audit.returncode == 0, audit.stderr
    finally:
        for server in servers:
            server.kill()
