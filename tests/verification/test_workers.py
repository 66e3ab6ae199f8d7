"""Several workers on one database: what one commits, the others see (the change feed)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from idsvc.app import create_app
from idsvc.changes.service import purge_before
from idsvc.clock import utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.db import make_engine, make_sessionmaker
from tests.conftest import settings_for
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.live import committed_staff

pytestmark = pytest.mark.slow


@pytest.fixture
def workers(scratch_url, tmp_path):
    """Two apps (as two worker processes would be) on one committed database."""
    headers = committed_staff(scratch_url, tmp_path / "keys")
    engine = make_engine(scratch_url)
    master = MasterKey.from_secret(os.urandom(32))

    def app(poll_seconds: float) -> TestClient:
        settings = settings_for(scratch_url, tmp_path / "keys").model_copy(
            update={"change_poll_seconds": poll_seconds})
        return TestClient(create_app(settings, master_key=master))

    yield app, headers, engine
    engine.dispose()


def test_a_revocation_on_one_worker_reaches_the_other(workers):
    app, headers, _ = workers
    with app(0) as first, app(0) as second:
        card = enroll_and_approve(first, headers["clerk"])
        police = partner_headers(first, headers["admin"])
        qr = card_qr(first, headers["clerk"], card["card_number"])
        assert second.post("/api/v1/verify", json={"qr": qr},
                           headers=police).json()["result"] == "valid"
        first.post(f"/api/v1/cards/{card['card_number']}/revoke", json={"reason": "stolen"},
                   headers=headers["clerk"])
        assert second.post("/api/v1/verify", json={"qr": qr},
                           headers=police).json()["result"] == "revoked"


def test_own_commit_is_seen_at_once_even_with_a_long_poll_interval(workers):
    app, headers, _ = workers
    with app(3600) as worker:
        card = enroll_and_approve(worker, headers["clerk"])
        police = partner_headers(worker, headers["admin"])
        qr = card_qr(worker, headers["clerk"], card["card_number"])
        assert worker.post("/api/v1/verify", json={"qr": qr},
                           headers=police).json()["result"] == "valid"
        worker.post(f"/api/v1/cards/{card['card_number']}/suspend",
                    json={"reason": "investigation"}, headers=headers["clerk"])
        assert worker.post("/api/v1/verify", json={"qr": qr},
                           headers=police).json()["result"] == "suspended"


def test_a_purged_feed_does_not_blind_a_worker(workers):
    app, headers, engine = workers
    with app(0) as first, app(0) as second:
        police = partner_headers(first, headers["admin"])
        cards = [enroll_and_approve(first, headers["clerk"], given_name=name)
                 for name in ("Uno", "Dos")]
        qrs = [card_qr(first, headers["clerk"], c["card_number"]) for c in cards]
        first.post(f"/api/v1/cards/{cards[0]['card_number']}/revoke",
                   json={"reason": "lost"}, headers=headers["clerk"])
        assert second.post("/api/v1/verify", json={"qr": qrs[0]},
                           headers=police).json()["result"] == "revoked"
        with make_sessionmaker(engine)() as session:  # a quiet day, then `idsvc purge`
            assert purge_before(session, utcnow() + timedelta(days=1)) > 0
            session.commit()
        first.post(f"/api/v1/cards/{cards[1]['card_number']}/revoke",
                   json={"reason": "lost"}, headers=headers["clerk"])
        for client in (first, second):
            assert client.post("/api/v1/verify", json={"qr": qrs[1]},
                               headers=police).json()["result"] == "revoked"


def test_a_revoked_partner_key_stops_on_every_worker(workers):
    app, headers, _ = workers
    with app(0) as first, app(0) as second:
        partner = first.post("/api/v1/partners", json={"name": "Bank", "kind": "bank"},
                             headers=headers["admin"]).json()
        key = first.post(f"/api/v1/partners/{partner['id']}/keys",
                         headers=headers["admin"]).json()
        auth = {"Authorization": f"Bearer {key['api_key']}"}
        body = {"card_number": "000000000000"}
        assert second.post("/api/v1/verify", json=body, headers=auth).status_code == 200
        first.delete(f"/api/v1/partners/{partner['id']}/keys/{key['id']}",
                     headers=headers["admin"])
        assert second.post("/api/v1/verify", json=body, headers=auth).status_code == 401
