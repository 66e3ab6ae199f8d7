"""50 simultaneous redemptions of a once-only benefit, over two server processes: one wins."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from idsvc import migrations
from idsvc.app import create_app
from idsvc.audit.service import Actor
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import ensure_signing_key
from idsvc.db import make_engine, make_sessionmaker
from idsvc.staff.roles import Role
from idsvc.staff.service import create_staff
from tests.conftest import ISSUER, PASSWORD, settings_for
from tests.factories import enroll_and_approve

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup(url: str, keys_dir: Path, secret: bytes) -> tuple[str, int, str]:
    """A card, a partner key and a once-only benefit, committed: (number, benefit, key)."""
    migrations.upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        ensure_signing_key(session, keys_dir=keys_dir)
        for role in (Role.CLERK, Role.ADMIN):
            create_staff(session, username=str(role), password=PASSWORD, role=role,
                         centre_id=None, actor=Actor.system())
        session.commit()
    engine.dispose()
    app = create_app(settings_for(url, keys_dir), master_key=MasterKey.from_secret(secret))
    with TestClient(app) as client:
        def login(name: str) -> dict[str, str]:
            token = client.post("/api/v1/auth/token", data={
                "username": name, "password": PASSWORD}).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        clerk, admin = login("clerk"), login("admin")
        card = enroll_and_approve(client, clerk)
        partner = client.post("/api/v1/partners", json={"name": "Museum", "kind": "cultural"},
                              headers=admin).json()
        key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
        benefit = client.post(f"/api/v1/partners/{partner['id']}/benefits",
                              json={"name": "Free membership"}, headers=admin).json()
    return card["card_number"], benefit["id"], key["api_key"]


def _serve(url: str, keys_dir: Path, secret: bytes) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "IDSVC_DATABASE_URL": url, "IDSVC_KEYS_DIR": str(keys_dir),
           "IDSVC_DATA_KEY": base64.b64encode(secret).decode(), "IDSVC_ISSUER": ISSUER,
           "IDSVC_CHANGE_POLL_SECONDS": "0"}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "idsvc.app:create_app",
                                "--factory", "--port", str(port), "--log-level", "warning"],
                               env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/v1/languages", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def test_fifty_racing_redemptions_over_two_processes_give_one_201(scratch_url, tmp_path):
    secret = os.urandom(32)
    keys_dir = tmp_path / "keys"
    number, benefit_id, api_key = _setup(scratch_url, keys_dir, secret)
    servers = [_serve(scratch_url, keys_dir, secret) for _ in range(2)]
    try:
        def redeem(i: int) -> int:
            base = servers[i % 2][1]
            return httpx.post(f"{base}/api/v1/redemptions",
                              json={"benefit_id": benefit_id, "card_number": number},
                              headers={"Authorization": f"Bearer {api_key}",
                                       "Idempotency-Key": uuid.uuid4().hex},
                              timeout=60).status_code

        with ThreadPoolExecutor(50) as pool:
            codes = list(pool.map(redeem, range(50)))
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=10)
    assert codes.count(201) == 1, codes
    assert codes.count(409) == 49, codes
