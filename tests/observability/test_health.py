"""GET /healthz (the process answers) and GET /readyz (this worker can serve)."""

from __future__ import annotations

import os

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from idsvc import migrations
from idsvc.app import create_app
from idsvc.crypto.envelope import MasterKey
from tests.conftest import settings_for

READY = {"data_key": "ok", "database": "ok", "migrations": "ok", "signing_key": "ok",
         "status_lists": "ok"}


def _client(url: str, keys_dir) -> TestClient:
    app = create_app(settings_for(url, keys_dir), master_key=MasterKey.from_secret(os.urandom(32)))
    return TestClient(app)


def test_a_ready_worker(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": READY}
    assert r.headers["cache-control"] == "no-store"


def test_operations_routes_are_not_in_the_api_description(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


def test_without_a_database_the_worker_is_alive_but_not_ready(tmp_path):
    with _client("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", tmp_path) as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    body = r.json()
    assert body["error"] == "not_ready"
    assert body["checks"]["database"] in ("failed (OperationalError)", "timeout")
    assert body["checks"].get("signing_key", "not checked") == "not checked"
    assert "127.0.0.1" not in r.text  # the driver's message is not passed on


def test_without_a_signing_key_the_worker_is_not_ready(scratch_url, tmp_path):
    migrations.upgrade(scratch_url)
    with _client(scratch_url, tmp_path) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {**READY, "signing_key": "no_signing_key"}


def test_with_a_schema_behind_the_code_the_worker_is_not_ready(scratch_url, tmp_path):
    scripts = ScriptDirectory.from_config(migrations.alembic_config(scratch_url))
    migrations.upgrade(scratch_url, scripts.get_base())
    with _client(scratch_url, tmp_path) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["migrations"] == "behind"
