"""Lookups on a real streaming replica: what it may serve, and what it never decides.

A writer app uses the primary only; a reader app also has IDSVC_DATABASE_REPLICA_URL.
Pausing replay on the replica (pg_wal_replay_pause) makes it visibly behind.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from idsvc.app import create_app
from idsvc.changes import replica as replica_rule
from idsvc.clock import utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.verification.checker import Result
from idsvc.verification.offline import trust_from_bundle, verify_offline
from tests.conftest import settings_for
from tests.databases import selected_backends
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.live import committed_staff
from tests.replication.cluster import Cluster, available, streaming_cluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not available() or "postgresql" not in selected_backends(),
                       reason="needs PostgreSQL 15 binaries (initdb, pg_basebackup)"),
]


@pytest.fixture(scope="module")
def pg() -> Iterator[Cluster]:
    with streaming_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def seeded(pg, tmp_path_factory):
    keys_dir = tmp_path_factory.mktemp("keys")
    return keys_dir, committed_staff(pg.primary.url(), keys_dir), MasterKey.from_secret(
        os.urandom(32))


@pytest.fixture
def apps(pg, seeded):
    """app() on the primary only; app(max_lag=s) reads what it may from the replica."""
    keys_dir, staff, master = seeded
    opened: list[TestClient] = []

    def app(max_lag: float | None = None) -> TestClient:
        settings = settings_for(pg.primary.url(), keys_dir)
        if max_lag is not None:
            settings = settings.model_copy(update={
                "database_replica_url": pg.replica.url(), "replica_max_lag_seconds": max_lag})
        client = TestClient(create_app(settings, master_key=master))
        opened.append(client.__enter__())
        return client

    yield app, staff
    for client in opened:
        client.__exit__(None, None, None)
    pg.resume_replay()


def verdict(client: TestClient, partner: dict[str, str], **body: Any) -> str:
    response = client.post("/api/v1/verify", json=body, headers=partner)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def offline_verdict(client: TestClient, qr: str) -> Result:
    """What a device holding this app's offline bundle (JWKS + status lists) concludes."""
    bundle = client.get("/offline-bundle.json")
    assert bundle.status_code == 200, bundle.text
    trust = trust_from_bundle(bundle.json(), max_age=timedelta(hours=1))
    return verify_offline(qr, trust, now=utcnow()).result


def test_the_replica_serves_lookups_but_never_hides_a_revocation(pg, apps):
    app, staff = apps
    writer, reader = app(), app(max_lag=60)
    clerk = staff["clerk"]
    police = partner_headers(writer, staff["admin"], name=uuid.uuid4().hex)
    old = enroll_and_approve(writer, clerk, given_name="Old")["card_number"]
    qr = card_qr(writer, clerk, old)
    pg.wait_for_replay()
    assert verdict(reader, police, card_number=old) == "valid"

    pg.pause_replay()
    new = enroll_and_approve(writer, clerk, given_name="New")["card_number"]
    revoked = writer.post(f"/api/v1/cards/{old}/revoke", json={"reason": "stolen"},
                          headers=clerk)
    assert revoked.status_code == 200, revoked.text
    assert pg.replica.scalar("SELECT count(*) FROM changes") < pg.primary.scalar(
        "SELECT count(*) FROM changes")
    # The lookup is the replica's: the card issued since the pause is not there yet...
    assert verdict(reader, police, card_number=new) == "not_found"
    # ...but statuses come from the primary's change feed: the revocation shows at once,
    # online and in the status list the reader signs (with a key the replica names).
    assert verdict(reader, police, card_number=old) == "revoked"
    assert verdict(reader, police, qr=qr) == "revoked"
    assert offline_verdict(reader, qr) == Result.REVOKED

    pg.resume_replay()
    pg.wait_for_replay()
    assert verdict(reader, police, card_number=new) == "valid"
    assert verdict(reader, police, card_number=old) == "revoked"


def test_a_replica_further_behind_than_the_bound_is_skipped(pg, apps):
    app, staff = apps
    writer, reader = app(), app(max_lag=5)
    clerk = staff["clerk"]
    police = partner_headers(writer, staff["admin"], name=uuid.uuid4().hex)
    first = enroll_and_approve(writer, clerk, given_name="First")["card_number"]
    pg.wait_for_replay()
    assert verdict(reader, police, card_number=first) == "valid"

    pg.pause_replay()
    late = enroll_and_approve(writer, clerk, given_name="Late")["card_number"]
    assert verdict(reader, police, card_number=late) == "not_found"  # behind, within bound
    time.sleep(5.5)  # the replica is now provably more than 5 s behind
    assert verdict(reader, police, card_number=late) == "valid"  # the primary answers

    pg.resume_replay()
    pg.wait_for_replay()
    assert verdict(reader, police, card_number=late) == "valid"


def test_a_replica_that_is_down_is_skipped_and_used_again_when_back(pg, apps, monkeypatch):
    monkeypatch.setattr(replica_rule, "DOWN_RETRY_SECONDS", 0.5)
    app, staff = apps
    writer, reader = app(), app(max_lag=60)
    clerk = staff["clerk"]
    police = partner_headers(writer, staff["admin"], name=uuid.uuid4().hex)
    card = enroll_and_approve(writer, clerk, given_name="Steady")["card_number"]
    qr = card_qr(writer, clerk, card)
    pg.wait_for_replay()
    assert verdict(reader, police, card_number=card) == "valid"

    pg.replica.stop()
    try:
        assert verdict(reader, police, card_number=card) == "valid"
        assert reader.get("/.well-known/jwks.json").status_code == 200
        assert offline_verdict(reader, qr) == Result.VALID
    finally:
        pg.replica.start()
    pg.wait_for_replay()
    time.sleep(0.6)  # past the retry interval
    assert verdict(reader, police, card_number=card) == "valid"  # the replica is measured

    pg.pause_replay()
    unseen = enroll_and_approve(writer, clerk, given_name="Unseen")["card_number"]
    assert verdict(reader, police, card_number=unseen) == "not_found"  # the replica again


def test_a_server_that_is_not_a_standby_is_never_taken_for_a_replica(pg, seeded):
    keys_dir, _, master = seeded
    settings = settings_for(pg.primary.url(), keys_dir).model_copy(
        update={"database_replica_url": pg.primary.url()})  # e.g. a promoted replica
    with TestClient(create_app(settings, master_key=master)) as client:
        assert client.get("/.well-known/jwks.json").status_code == 200
        assert not client.app.state.replica_sessions.fresh()
