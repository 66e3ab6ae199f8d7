"""GET /metrics: who may read it, what it counts, and that every worker is in the sum."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from idsvc.observability.api import _allowed
from idsvc.observability.exposition import render, worker_snapshot
from idsvc.observability.metrics import Metrics
from idsvc.observability.wiring import Observability
from idsvc.observability.workers import STALE_AFTER, SharedFolder
from tests.conftest import settings_for
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.live import live_server
from tests.observability.conftest import SCRAPER, parse, scrape, value

REQUESTS = "idsvc_http_requests_total"


def test_metrics_are_refused_without_the_token_or_an_allowed_address(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SCRAPER[
            "Authorization"] + "x"}):
        r = client.get("/metrics", headers=headers)  # the test client is no IP address
        assert r.status_code == 403 and r.json()["error"] == "metrics_forbidden", headers
    r = client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.headers["cache-control"] == "no-store"


def test_allowed_networks():
    loopback = "127.0.0.1/32,::1/128"
    assert _allowed("127.0.0.1", loopback) and _allowed("::1", loopback)
    assert _allowed("::ffff:127.0.0.1", loopback)
    assert not _allowed("10.1.2.3", loopback) and not _allowed("testclient", loopback)
    assert _allowed("10.1.2.3", "192.168.0.0/16, 10.0.0.0/8")
    assert not _allowed("127.0.0.1", "")


def test_requests_are_counted_by_route_template_never_by_path(client, clerk):
    number = enroll_and_approve(client, clerk)["card_number"]
    assert client.get(f"/api/v1/cards/{number}", headers=clerk).status_code == 200
    assert client.get(f"/no/such/{number}").status_code == 404
    r = client.get("/metrics", headers=SCRAPER)
    assert number not in r.text
    samples = parse(r.text)
    assert value(samples, REQUESTS, method="GET", route="/api/v1/cards/{card_number}",
                 status="2xx") == 1
    assert value(samples, REQUESTS, method="GET", route="unmatched", status="4xx") == 1
    assert value(samples, REQUESTS, method="POST", route="/api/v1/applications",
                 status="2xx") == 1


def test_verifications_by_verdict_and_cards_issued(client, clerk, admin):
    before = scrape(client)
    number = enroll_and_approve(client, clerk)["card_number"]
    partner = partner_headers(client, admin)
    qr = card_qr(client, clerk, number)
    for body in ({"qr": qr}, {"qr": qr}, {"qr": "HC1:NOT-A-CARD"},
                 {"card_number": "000000000000"}):
        assert client.post("/api/v1/verify", json=body, headers=partner).status_code == 200
    assert client.post("/api/v1/verify", json={"qr": qr}).status_code == 401
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("idsvc_cards_issued_total", reason="new") == 1
    assert grew("idsvc_verifications_total", method="qr", result="valid") == 2
    assert grew("idsvc_verifications_total", method="qr", result="invalid") == 1
    assert grew("idsvc_verifications_total", method="number", result="not_found") == 1
    # The verify fast path answers ahead of the router: still counted by its template.
    assert grew(REQUESTS, method="POST", route="/api/v1/verify", status="2xx") == 4
    assert grew(REQUESTS, method="POST", route="/api/v1/verify", status="4xx") == 1


def test_redemptions_are_counted_when_they_commit(client, clerk, admin):
    number = enroll_and_approve(client, clerk)["card_number"]
    partner = client.post("/api/v1/partners", json={"name": "Museum", "kind": "cultural"},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
    benefit = client.post(f"/api/v1/partners/{partner['id']}/benefits", headers=admin,
                          json={"name": "Free entry", "category": "culture"}).json()
    before = value(scrape(client), "idsvc_redemptions_total")
    for expected in (201, 409):  # once only: the second is refused and rolled back
        r = client.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                                     "card_number": number},
                        headers={"Authorization": f"Bearer {key['api_key']}",
                                 "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == expected, r.text
    assert value(scrape(client), "idsvc_redemptions_total") - before == 1


def test_histograms_add_up(client):
    for path in ("/healthz", "/", "/nothing-here", "/api/v1/languages"):
        client.get(path)
    r = client.get("/metrics", headers=SCRAPER)
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    latency = families["idsvc_http_request_duration_seconds"]
    counts = {frozenset(s.labels.items()): s.value for s in latency.samples
              if s.name.endswith("_count")}
    assert counts
    for labels, count in counts.items():
        buckets = sorted((float(s.labels["le"]), s.value) for s in latency.samples
                         if s.name.endswith("_bucket")
                         and frozenset((k, v) for k, v in s.labels.items() if k != "le")
                         == labels)
        values = [n for _, n in buckets]
        assert values == sorted(values) and values[-1] == count
    assert "process_resident_memory_bytes" in families
    assert families["idsvc_workers"].samples[0].value == 1


def _worker_file(folder: Path, name: str, metrics: Metrics, *, pid: int, age: float) -> None:
    snapshot = worker_snapshot(metrics)
    snapshot.update(pid=pid, written=time.time() - age)
    SharedFolder(folder, name).write(snapshot)


def test_every_workers_counts_are_in_the_answer_of_any_worker(tmp_path):
    """Each worker leaves its counts in the shared folder; whichever worker is scraped adds
    the others' to its own. A worker that has exited keeps its counts in the sum."""
    here, live, gone = Metrics(), Metrics(), Metrics()
    here.observe_request("GET", "/healthz", 200, 0.002)
    live.observe_request("GET", "/healthz", 200, 0.003)
    live.count_verification("qr", "valid")
    gone.observe_request("GET", "/healthz", 503, 0.5)
    gone.count_committed(["new", "renew"], 2)
    _worker_file(tmp_path, "live", live, pid=os.getpid() + 1, age=0)
    _worker_file(tmp_path, "gone", gone, pid=os.getpid() + 2, age=STALE_AFTER * 2)
    samples = parse(render(here, SharedFolder(tmp_path, "here")).decode())
    assert value(samples, REQUESTS, method="GET", route="/healthz", status="2xx") == 2
    assert value(samples, REQUESTS, method="GET", route="/healthz", status="5xx") == 1
    assert value(samples, "idsvc_http_request_duration_seconds_sum", method="GET",
                 route="/healthz", status="2xx") == 0.005
    assert value(samples, "idsvc_verifications_total", method="qr", result="valid") == 1
    assert value(samples, "idsvc_cards_issued_total", reason="renew") == 1
    assert value(samples, "idsvc_redemptions_total") == 2
    assert value(samples, "idsvc_workers") == 2  # the exited worker's figures are dropped
    pids = {dict(labels)["pid"] for name, labels in samples
            if name == "process_resident_memory_bytes"}
    assert pids == {str(os.getpid()), str(os.getpid() + 1)}


def test_a_worker_snapshot_survives_its_flusher(tmp_path):
    """The app's lifespan starts the flusher and its shutdown writes the last counts."""
    observability = Observability(settings_for("sqlite://", tmp_path / "keys").model_copy(
        update={"metrics_dir": tmp_path / "metrics"}))

    async def hello(scope, receive, send):
        if scope["type"] == "lifespan":
            for step in ("startup", "shutdown"):
                await receive()
                await send({"type": f"lifespan.{step}.complete"})
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with TestClient(observability.observe(hello)) as client:
        client.get("/ping")
    written = parse(render(Metrics(), SharedFolder(tmp_path / "metrics", "reader")).decode())
    assert value(written, REQUESTS, method="GET", route="unmatched", status="2xx") == 1


def test_metrics_answer_loopback_without_a_token(scratch_url, tmp_path):
    with live_server(scratch_url, tmp_path / "keys") as server:
        r = httpx.get(f"{server.url}/metrics")
        assert r.status_code == 200
        assert "idsvc_http_requests_total" in r.text
