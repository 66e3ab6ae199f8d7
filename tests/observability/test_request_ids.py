"""Every answer carries X-Request-ID: the client's own when sane, else a generated one."""

from __future__ import annotations

import json
import os
import re

import pytest
from fastapi.testclient import TestClient

from idsvc.app import create_app
from idsvc.crypto.envelope import MasterKey
from idsvc.observability.requestids import RequestIds
from tests.conftest import settings_for
from tests.factories import partner_headers
from tests.observability.conftest import captured_logs

GENERATED = re.compile(r"[0-9a-f]{12}-[0-9a-f]+")


def test_every_kind_of_answer_carries_an_id(client, admin):
    partner = partner_headers(client, admin)
    answers = {
        "health": client.get("/healthz"),
        "page": client.get("/"),
        "static file": client.get("/static/css/site.css"),
        "no such route": client.get("/no/such/page"),
        "login needed": client.get("/api/v1/staff/me"),
        "wrong method": client.get("/api/v1/verify"),
        # The verify fast path answers ahead of the app's own middleware.
        "verify": client.post("/api/v1/verify", json={"qr": "HC1:X"}, headers=partner),
        "verify, no key": client.post("/api/v1/verify", json={"qr": "HC1:X"}),
        "verify, bad body": client.post("/api/v1/verify", content=b"{", headers=partner),
        "verify, too large": client.post("/api/v1/verify", content=b"x" * 70_000,
                                         headers=partner),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"health": 200, "page": 200, "static file": 200, "no such route": 404,
                        "login needed": 401, "wrong method": 405, "verify": 200,
                        "verify, no key": 401, "verify, bad body": 422,
                        "verify, too large": 413}
    ids = [r.headers.get("x-request-id", "") for r in answers.values()]
    assert all(GENERATED.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert len({i.split("-")[0] for i in ids}) == 1  # one worker, one prefix


@pytest.mark.parametrize("sent", ["partner-7f3a.1:abc", "0d5c2f0e-6f7b-4a8e-9e0e-3c8f6b1d2a4e",
                                  "Root=1-67891233-abcdef012345678912345678", "a" * 64])
def test_a_sane_client_id_is_echoed(client, sent):
    assert client.get("/healthz", headers={"X-Request-ID": sent}).headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", ["", "a" * 65, "two words", "semi;colon", "quote\"d",
                                  "<script>", "caf\u00e9"])
def test_anything_else_is_replaced(client, sent):
    r = client.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8")})
    assert GENERATED.fullmatch(r.headers["x-request-id"]), r.headers["x-request-id"]


def test_generated_ids_are_unique_per_worker():
    first, second = RequestIds(), RequestIds()
    ids = {first.new() for _ in range(1000)} | {second.new() for _ in range(1000)}
    assert len(ids) == 2000 and first.prefix != second.prefix


def test_the_id_is_in_every_log_line_of_its_request(tmp_path):
    """An app log line written while the request is served (here: the readiness check of
    an unreachable database, from a worker thread) and the access line both name it."""
    settings = settings_for("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", tmp_path)
    app = create_app(settings, master_key=MasterKey.from_secret(os.urandom(32)))
    with captured_logs(settings) as buffer, TestClient(app) as broken:
        r = broken.get("/readyz", headers={"X-Request-ID": "probe-1"})
    assert r.status_code == 503
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "probe-1"]
    assert {line["logger"] for line in mine} >= {"idsvc.health", "idsvc.access"}, lines
    assert all(line["route"] == "/readyz" for line in mine)
