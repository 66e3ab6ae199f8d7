"""Verification events: pseudonymous, recorded for the resident's history, purged on time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from idsvc import migrations
from idsvc.audit.service import Actor
from idsvc.clock import utcnow
from idsvc.db import make_engine, make_sessionmaker
from idsvc.partners.scopes import PartnerKind
from idsvc.partners.service import create_partner
from idsvc.verification.checker import Result
from idsvc.verification.events import BatchingSink, Event, copy_line
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


def _event(partner_id: int | None, ref: str) -> Event:
    return Event(at=utcnow(), partner_id=partner_id, key_id=None,  # type: ignore[arg-type]
                 method="qr", result="valid", card_ref=ref)


def test_batched_events_are_written_in_the_background_and_survive_a_bad_batch(scratch_url):
    migrations.upgrade(scratch_url)
    engine = make_engine(scratch_url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        partner_id = create_partner(s, name="Library", kind=PartnerKind.LIBRARY,
                                    actor=Actor.system()).id
        s.commit()
    sink = BatchingSink(sessions, interval_seconds=0.05)
    try:
        sink.record(_event(None, "broken"))  # refused by the database: NOT NULL
        deadline = time.monotonic() + 5
        while sink.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(300):
            sink.record(_event(partner_id, f"ref{i}"))
    finally:
        sink.close()
    with sessions() as s:
        stored = s.exec(select(VerificationEvent)).all()
    engine.dispose()
    assert sorted(e.card_ref for e in stored) == sorted(f"ref{i}" for i in range(300))
    assert all(e.at.tzinfo is not None and e.partner_id == partner_id for e in stored)


def test_batched_sink_drops_events_past_its_limit_instead_of_growing(scratch_url):
    migrations.upgrade(scratch_url)
    engine = make_engine(scratch_url)
    sink = BatchingSink(make_sessionmaker(engine), interval_seconds=60, max_pending=3)
    for i in range(5):
        sink.record(_event(1, f"ref{i}"))
    assert sink.pending() == 3
    sink.close()
    engine.dispose()


def test_an_event_is_one_copy_line_that_needs_no_escaping():
    at = datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC)
    line = copy_line(Event(at=at, partner_id=7, key_id=None, method="number",
                           result=Result.NOT_FOUND, card_ref=None))
    assert line == "2026-12-08T01:02:03.456789+00:00\t7\t\\N\tnumber\tnot_found\t\\N\n"
    # Every verdict is a plain word: nothing COPY would read as a tab, newline or escape.
    assert all(value.isidentifier() for value in Result)
