"""Two clerks, one application: overlapping requests must not double anything."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.factories import GOOD_DOCUMENTS, applicant, portrait
from tests.live import live_server

pytestmark = pytest.mark.slow


@pytest.fixture
def server(scratch_url, tmp_path):
    with live_server(scratch_url, tmp_path / "keys") as live:
        yield live


def _ready_application(client: httpx.Client, clerk: dict[str, str]) -> str:
    app_id = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()["id"]
    for code in GOOD_DOCUMENTS:
        client.post(f"/api/v1/applications/{app_id}/documents", json={"document_type": code},
                    headers=clerk)
    client.put(f"/api/v1/applications/{app_id}/photo",
               files={"file": ("p.jpg", portrait(), "image/jpeg")}, headers=clerk)
    return app_id


def _parallel(server, calls):
    def run(call):
        method, path, kwargs = call
        with httpx.Client(base_url=server.url, timeout=30) as client:
            return client.request(method, path, headers=server.headers["clerk"], **kwargs)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_six_simultaneous_approvals_issue_one_card(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        app_id = _ready_application(client, server.headers["clerk"])
    responses = _parallel(server, [("POST", f"/api/v1/applications/{app_id}/approve", {})] * 6)
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409, 409, 409], [r.text for r in responses]


def test_approve_and_reject_race_has_one_winner(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        app_id = _ready_application(client, server.headers["clerk"])
    responses = _parallel(server, [
        ("POST", f"/api/v1/applications/{app_id}/approve", {}),
        ("POST", f"/api/v1/applications/{app_id}/reject", {"json": {"reason": "duplicate"}}),
    ])
    assert sorted(r.status_code for r in responses) in ([200, 409], [201, 409])
    with httpx.Client(base_url=server.url, timeout=30) as client:
        final = client.get(f"/api/v1/applications/{app_id}",
                           headers=server.headers["clerk"]).json()
    winner = next(r for r in responses if r.status_code < 300)
    assert final["status"] == ("approved" if winner.status_code == 201 else "rejected")
    assert (final["card_number"] is None) == (final["status"] == "rejected")


def test_double_clicked_document_counts_once(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        app_id = client.post("/api/v1/applications", json=applicant(),
                             headers=server.headers["clerk"]).json()["id"]
    responses = _parallel(server, [("POST", f"/api/v1/applications/{app_id}/documents",
                                    {"json": {"document_type": "birth_certificate"}})] * 4)
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        points = client.get(f"/api/v1/applications/{app_id}",
                            headers=server.headers["clerk"]).json()["points"]
    assert points["identity"] == 2


def test_simultaneous_replacements_leave_one_card_in_use(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        app_id = _ready_application(client, server.headers["clerk"])
        number = client.post(f"/api/v1/applications/{app_id}/approve",
                             headers=server.headers["clerk"]).json()["card_number"]
    responses = _parallel(server, [("POST", f"/api/v1/cards/{number}/replace",
                                    {"json": {"reason": "lost"}})] * 3)
    # Each request either replaced the card it found current (they queue on the card's
    # lock) or was told the card changed under it; never two cards in use.
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409} and 201 in codes, [r.text for r in responses]
    versions = sorted(r.json()["version"] for r in responses if r.status_code == 201)
    assert versions == list(range(2, 2 + len(versions)))
    with httpx.Client(base_url=server.url, timeout=30) as client:
        view = client.get(f"/api/v1/cards/{number}", headers=server.headers["clerk"]).json()
    assert view["version"] == versions[-1] and view["state"] == "active"
