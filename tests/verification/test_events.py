"""Verification events: pseudonymous, recorded for the resident's history, purged on time."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from idsvc.clock import utcnow
from idsvc.db import make_engine
from idsvc.verification.models import VerificationEvent
from idsvc.verification.service import purge_events
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.live import live_server


@pytest.fixture
def session(connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s


def test_events_name_the_card_only_by_a_pseudonym(client, clerk, admin, session):
    police = partner_headers(client, admin)
    first = enroll_and_approve(client, clerk)
    second = enroll_and_approve(client, clerk, given_name="Otra")
    client.post("/api/v1/verify", json={"card_number": first["card_number"]}, headers=police)
    client.post("/api/v1/verify", json={"qr": card_qr(client, clerk, first["card_number"])},
                headers=police)
    client.post("/api/v1/verify", json={"card_number": second["card_number"]}, headers=police)
    client.post("/api/v1/verify", json={"qr": "GARBAGE"}, headers=police)
    events = session.exec(select(VerificationEvent).order_by(VerificationEvent.id)).all()
    assert [(e.method, e.result) for e in events] == [
        ("number", "valid"), ("qr", "valid"), ("number", "valid"), ("qr", "invalid")]
    refs = [e.card_ref for e in events]
    assert refs[0] == refs[1] != refs[2] and refs[3] is None  # same card, either way
    assert all(first["card_number"] not in (r or "") for r in refs)
    assert len({e.partner_id for e in events}) == 1


def test_purge_keeps_only_the_retention_period(client, clerk, admin, session):
    police = partner_headers(client, admin)
    card = enroll_and_approve(client, clerk)
    for _ in range(3):
        client.post("/api/v1/verify", json={"card_number": card["card_number"]}, headers=police)
    ids = session.exec(select(VerificationEvent.id).order_by(VerificationEvent.id)).all()
    old = utcnow() - timedelta(days=31)
    session.execute(text("UPDATE verification_events SET at = :at WHERE id IN (:a, :b)"),
                    {"at": old.replace(tzinfo=None) if session.get_bind().dialect.name ==
                     "sqlite" else old, "a": ids[0], "b": ids[1]})
    assert purge_events(session, retention_days=30) == 2
    assert session.exec(select(VerificationEvent.id)).all() == [ids[2]]


@pytest.mark.slow
def test_batched_events_reach_the_database_off_the_request_path(scratch_url, tmp_path):
    with live_server(scratch_url, tmp_path / "keys") as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        admin = server.headers["admin"]
        partner = client.post("/api/v1/partners", json={"name": "P", "kind": "bank"},
                              headers=admin).json()
        key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
        for _ in range(5):
            r = client.post("/api/v1/verify", json={"card_number": "000000000000"},
                            headers={"Authorization": f"Bearer {key['api_key']}"})
            assert r.json()["result"] == "not_found"
    # The server has shut down: its queue was written on the way out.
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        results = session.exec(select(VerificationEvent.result)).all()
    engine.dispose()
    assert results == ["not_found"] * 5
