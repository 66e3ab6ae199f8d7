"""`idsvc retention ...` and `idsvc purge` as an operator runs them, on a database that
really commits, with the retention clock moved to the days that matter."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from idsvc.app import create_app
from idsvc.cards.models import Card
from idsvc.clock import start_of_local_day
from idsvc.config import get_settings
from idsvc.db import make_engine
from idsvc.enrollment.models import Application, DocumentCheck
from idsvc.residents.models import Resident
from idsvc.retention.models import ShredRecord
from idsvc.retention.policy import years_before
from tests.commands import idsvc_commands
from tests.factories import card_qr, enroll, enroll_and_approve, partner_headers, years_ago

PASSWORD = "a long enough passphrase"
NOT_EXPIRED = ("--expired-years", "0")
NOT_APPLICATIONS = ("--applications-days", "0")


@pytest.fixture
def run(scratch_url, tmp_path, monkeypatch):
    policy = tmp_path / "policy.toml"  # seniors' cards never expire: such a card is kept
    policy.write_text(files("idsvc.enrollment").joinpath("default_policy.toml").read_text()
                      .replace("never_expires_from_age = 0", "never_expires_from_age = 65"))
    invoke = idsvc_commands(monkeypatch, database_url=scratch_url,
                            keys_dir=str(tmp_path / "keys"), policy_file=str(policy),
                            change_poll_seconds="0", verification_events="inline")
    yield lambda *args, code=0: invoke(*args, code=code).output
    get_settings.cache_clear()


@pytest.fixture
def city(run):
    """A set-up deployment and an API client logged in as its administrator."""
    run("db", "upgrade")
    run("keys", "generate")
    run("centre", "create", "CENTRAL", "Central")
    run("staff", "create", "boss", "--role", "admin", "--centre", "CENTRAL",
        "--password", PASSWORD)
    with TestClient(create_app(get_settings())) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "boss", "password": PASSWORD}).json()["access_token"]
        yield client, {"Authorization": f"Bearer {token}"}


def _clock(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr("idsvc.retention.cli.utcnow", lambda: moment)


def _noon(day: date) -> datetime:
    return start_of_local_day(day, get_settings().timezone) + timedelta(hours=12)


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_engine(get_settings().database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _staff_view(client, staff, number):
    return client.get(f"/api/v1/cards/{number}", headers=staff)


@pytest.mark.slow
def test_the_policy_shreds_exactly_whom_every_card_expired_more_than_n_years_ago(
        city, run, monkeypatch):
    client, staff = city
    ana = enroll_and_approve(client, staff, given_name="Ana")
    bea = enroll_and_approve(client, staff, given_name="Bea")
    senior = enroll_and_approve(client, staff, given_name="Cruz",
                                date_of_birth=years_ago(70).isoformat())
    pending = enroll(client, staff, given_name="Dani")
    assert senior["expires_at"] is None and ana["expires_at"] == bea["expires_at"]
    qrs = {card["card_number"]: card_qr(client, staff, card["card_number"])
           for card in (ana, bea, senior)}
    police = partner_headers(client, staff)
    issued = client.get("/api/v1/reports/cards-issued", headers=staff).json()
    two_years_on = years_before(date.fromisoformat(ana["expires_at"]), -2)

    _clock(monkeypatch, _noon(two_years_on))  # expired exactly two years: kept
    assert "shredded 0 residents" in run("retention", "apply", *NOT_APPLICATIONS)
    _clock(monkeypatch, _noon(two_years_on + timedelta(days=1)))
    dry = run("retention", "apply", "--expired-years", "2", *NOT_APPLICATIONS, "--dry-run")
    assert "would shred 2 residents" in dry
    assert _staff_view(client, staff, ana["card_number"]).status_code == 200
    out = run("retention", "apply", "--expired-years", "2", *NOT_APPLICATIONS)
    assert "2/2" in out and "shredded 2 residents with expired cards" in out

    for card in (ana, bea):
        number = card["card_number"]
        view = _staff_view(client, staff, number)
        assert view.status_code == 404 and view.json()["error"] == "personal_data_destroyed"
        answer = client.post("/api/v1/verify", json={"qr": qrs[number]}, headers=police)
        assert answer.json()["result"] == "revoked"
    answer = client.post("/api/v1/verify", json={"qr": qrs[senior["card_number"]]},
                         headers=police)
    assert answer.json()["result"] == "valid"
    assert _staff_view(client, staff, senior["card_number"]).status_code == 200
    assert client.get(f"/api/v1/applications/{pending['id']}", headers=staff).status_code == 200
    assert client.get("/api/v1/reports/cards-issued", headers=staff).json() == issued
    assert "shredded 0 residents" in run("retention", "apply", "--expired-years", "2",
                                         *NOT_APPLICATIONS)
    assert "ok:" in run("audit", "verify")


def _touched(application_id: str) -> datetime:
    """When the clerk last did anything to an application (the abandonment clock)."""
    with _session() as session:
        application = session.get(Application, application_id)
        checks = session.exec(select(DocumentCheck.checked_at).where(
            DocumentCheck.application_id == application_id)).all()
        resident = session.get(Resident, application.resident_id)
        return max([application.created_at, resident.updated_at, *checks])


@pytest.mark.slow
def test_rejected_and_abandoned_applications_go_after_n_days(city, run, monkeypatch):
    client, staff = city
    rejected = enroll(client, staff, given_name="Eli")
    r = client.post(f"/api/v1/applications/{rejected['id']}/reject",
                    json={"reason": "The documents did not match"}, headers=staff)
    assert r.status_code == 200, r.text
    abandoned = enroll(client, staff, given_name="Fay")
    approved = enroll_and_approve(client, staff, given_name="Gus")
    with _session() as session:
        decided = session.get(Application, rejected["id"]).decided_at
    touched = _touched(abandoned["id"])
    assert touched > decided
    one = timedelta(microseconds=1)

    def gone(application_id):
        r = client.get(f"/api/v1/applications/{application_id}", headers=staff)
        return r.status_code == 404 and r.json()["error"] == "application_not_found"

    _clock(monkeypatch, decided + timedelta(days=90))
    assert "0 applicants never approved" in run("retention", "apply", *NOT_EXPIRED)
    _clock(monkeypatch, decided + timedelta(days=90) + one)
    assert "1 applicants never approved" in run("retention", "apply", *NOT_EXPIRED)
    assert gone(rejected["id"]) and not gone(abandoned["id"])

    _clock(monkeypatch, touched + timedelta(days=90))
    assert "0 applicants never approved" in run("purge")
    _clock(monkeypatch, touched + timedelta(days=90) + one)
    assert "1 applicants never approved" in run("purge")  # the daily purge applies it
    assert gone(abandoned["id"]) and not gone(approved["application_id"])
    assert _staff_view(client, staff, approved["card_number"]).status_code == 200
    with _session() as session:
        assert len(session.exec(select(ShredRecord)).all()) == 2


@pytest.mark.slow
def test_report_formats_and_ledger_round_trip(city, run, tmp_path):
    client, staff = city
    card = enroll_and_approve(client, staff)
    number = card["card_number"]

    text = run("retention", "report")
    assert "card_in_use" in text and "Amaru" not in text and number not in text
    body = json.loads(run("retention", "report", "--format", "json"))
    counts = {(line["group"], line["category"]): line["count"] for line in body["lines"]
              if line["age"] == "all"}
    assert counts["residents", "card_in_use"] == 1
    assert run("retention", "report", "--format", "csv").startswith(
        "group,category,age,count,oldest,holds")

    with _session() as session:  # what a backup taken now would hold
        resident_id = session.exec(select(Card.resident_id)).one()
        kept = session.get(Resident, resident_id).model_dump()
        kept_card = session.exec(select(Card)).one().model_dump()
    run("retention", "shred", number, "--reason", "deceased", code=1)  # asks; no answer
    assert "shredded the holder" in run("retention", "shred", number, "--reason",
                                        "erasure_request", "--yes")
    run("retention", "shred", number, "--reason", "erasure_request", "--yes", code=1)
    run("retention", "shred", number, "--reason", "expired", "--yes", code=2)
    ledger = tmp_path / "ledger.json"
    assert "1 ledger entries" in run("retention", "ledger-export", "--out", str(ledger))
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    assert json.loads(ledger.read_text())["entries"] == [
        {"resident_id": resident_id, "shredded_on": datetime.now(UTC).date().isoformat()}]

    with _session() as session:  # the older backup comes back
        session.add(session.get(Resident, resident_id).sqlmodel_update(kept))
        session.add(session.exec(select(Card)).one().sqlmodel_update(kept_card))
        session.delete(session.get(ShredRecord, resident_id))
        session.commit()
    assert _staff_view(client, staff, number).status_code == 200
    assert "1 residents shredded again" in run("retention", "ledger-apply", str(ledger))
    assert _staff_view(client, staff, number).status_code == 404
    assert "0 residents shredded again" in run("retention", "ledger-apply", str(ledger))
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    assert "invalid_ledger" in run("retention", "ledger-apply", str(tmp_path / "other.json"),
                                   code=1)
    assert "ok:" in run("audit", "verify")
