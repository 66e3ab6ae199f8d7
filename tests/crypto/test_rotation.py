"""`idsvc keys rotate-data-key`: interrupted midway, resumed, and nothing lost (both backends).

A worker started before the rotation keeps serving throughout; look-ups that rest on the
keys derived from the master key (duplicate checks, search by name and birth date,
checks by card number) still find the same people afterwards.
"""

from __future__ import annotations

import base64
import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from idsvc.app import create_app
from idsvc.config import get_settings
from idsvc.crypto import rotation
from idsvc.crypto.envelope import KEY_ID_BYTES, load_master_key, read_key_file, seal
from idsvc.db import make_engine
from tests.appointments.conftest import Outbox, open_one_day, person
from tests.commands import idsvc_commands
from tests.factories import enroll, enroll_and_approve, partner_headers
from tests.pages import post_form, staff_login

PASSWORD = "a long passphrase!"
PEOPLE = [("Amaru", "1988-04-17"), ("Nayra", "1990-01-02"), ("Wayra", "1975-12-31"),
          ("Killa", "2001-07-07"), ("Inti", "1969-03-15"), ("Sami", "1995-05-05")]


@pytest.fixture
def run(scratch_url, tmp_path, monkeypatch):
    invoke = idsvc_commands(monkeypatch, database_url=scratch_url,
                            keys_dir=str(tmp_path / "keys"),
                            cookie_secure="false")  # page logins over the test client

    invoke("db", "upgrade")
    invoke("keys", "generate")
    for role in ("clerk", "admin"):
        invoke("staff", "create", f"{role}1", "--role", role, "--password", PASSWORD)
    yield invoke
    get_settings.cache_clear()


def login(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def wrapped_keys(url: str) -> dict[str, bytes]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT id, wrapped_key FROM residents")).all())
    finally:
        engine.dispose()


def set_wrapped_key(url: str, resident_id: str, wrapped: bytes) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE residents SET wrapped_key = :w WHERE id = :id"),
                         {"w": wrapped, "id": resident_id})
    finally:
        engine.dispose()


def fresh_app():
    get_settings.cache_clear()
    return create_app()


def everyone_reads(client: TestClient, clerk: dict[str, str], cards: dict[str, str]) -> None:
    for number, given_name in cards.items():
        r = client.get(f"/api/v1/cards/{number}", headers=clerk)
        assert r.status_code == 200, r.text
        assert r.json()["given_name"] == given_name


def audit_actions(url: str, action: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM audit_events WHERE action = :a"),
                                {"a": action}).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_rotation_interrupted_and_resumed_keeps_every_record(run, scratch_url, tmp_path,
                                                             monkeypatch):
    keys_dir = tmp_path / "keys"
    old_file = (keys_dir / "data.key").read_bytes()
    old = read_key_file(keys_dir / "data.key")
    # A worker started before the rotation and never restarted: it serves throughout.
    with TestClient(fresh_app()) as worker:
        clerk, admin = login(worker, "clerk1"), login(worker, "admin1")
        cards = {enroll_and_approve(worker, clerk, given_name=name, date_of_birth=born)
                 ["card_number"]: name for name, born in PEOPLE}
        enroll(worker, clerk, given_name="Gone", date_of_birth="1980-01-01")  # no card
        rows = wrapped_keys(scratch_url)
        shredded_id = next(iter(set(rows) - set(_residents_with_cards(scratch_url))))
        # One data key as wrapped before key ids existed; one resident crypto-shredded.
        first = min(set(rows) - {shredded_id})
        master = load_master_key(keys_dir=keys_dir, encoded=None)
        set_wrapped_key(scratch_url, first, seal(
            old.wrapping_key, master.unwrap(rows[first], owner=first),
            aad=b"dek:" + first.encode()))
        set_wrapped_key(scratch_url, shredded_id, b"")

        real_batch, batches = rotation.rewrap_batch, []

        def power_cut(*args, **kwargs):
            batches.append(1)
            if len(batches) == 3:
                raise RuntimeError("power cut")
            return real_batch(*args, **kwargs)

        monkeypatch.setattr(rotation, "rewrap_batch", power_cut)
        run("keys", "rotate-data-key", "--batch-size", "2", code=1)
        monkeypatch.setattr(rotation, "rewrap_batch", real_batch)

        # Midway: both keys on disk, two batches committed, every record still readable.
        assert (keys_dir / "data-next.key").exists()
        assert (keys_dir / "data.key").read_bytes() == old_file
        new_id = read_key_file(keys_dir / "data-next.key").key_id
        prefix = b"\x02" + new_id
        midway = wrapped_keys(scratch_url)
        assert sum(w.startswith(prefix) for w in midway.values()) == 4
        everyone_reads(worker, clerk, cards)
        with TestClient(fresh_app()) as restarted:
            everyone_reads(restarted, clerk, cards)
        late = enroll_and_approve(worker, clerk, given_name="Tupac", date_of_birth="1999-09-09")
        cards[late["card_number"]] = "Tupac"
        (late_row,) = set(wrapped_keys(scratch_url).items()) - set(midway.items())
        assert late_row[1].startswith(prefix)  # new data keys are wrapped by the new key

        out = run("keys", "rotate-data-key", "--batch-size", "2").output
        assert new_id.hex() in out

        assert not (keys_dir / "data-next.key").exists()
        now = read_key_file(keys_dir / "data.key")
        assert now.key_id == new_id and now.wrapping_key != old.wrapping_key
        assert all(path.read_bytes() != old_file for path in keys_dir.iterdir())  # old key gone
        assert (now.blind_index_key, now.pseudonym_key) == (old.blind_index_key,
                                                             old.pseudonym_key)
        after = wrapped_keys(scratch_url)
        assert after.pop(shredded_id) == b""
        assert all(w.startswith(prefix) and len(w) > 1 + KEY_ID_BYTES for w in after.values())
        assert audit_actions(scratch_url, "data_key.rotate") == 1

        everyone_reads(worker, clerk, cards)
        with TestClient(fresh_app()) as restarted:
            everyone_reads(restarted, clerk, cards)
            police = partner_headers(restarted, admin)
            for number in cards:  # the card-number check and its pseudonymous event
                verdict = restarted.post("/api/v1/verify", json={"card_number": number},
                                         headers=police)
                assert verdict.json()["result"] == "valid"
            again = enroll(restarted, clerk, given_name="Nayra", date_of_birth="1990-01-02")
            assert again["possible_duplicate"]["card_numbers"]  # the blind index still matches
            staff_login(restarted, "clerk1", PASSWORD)
            found = post_form(restarted, "/clerk/cards/find",
                              {"given_name": "Wayra", "family_name": "Quispe Mamani",
                               "date_of_birth": "1975-12-31"}, page="/clerk/cards/find")
            wayra = next(number for number, name in cards.items() if name == "Wayra")
            assert f"/clerk/cards/{wayra}" in found.text
    assert run("audit", "verify").output.startswith("ok:")


def _residents_with_cards(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT DISTINCT resident_id FROM cards")).scalars())
    finally:
        engine.dispose()


def test_each_run_is_a_new_rotation_and_an_environment_key_is_not_rotated(run, tmp_path,
                                                                          monkeypatch):
    keys_dir = tmp_path / "keys"
    ids = [read_key_file(keys_dir / "data.key").key_id]
    for _ in range(2):
        run("keys", "rotate-data-key")  # no resident yet: nothing to re-wrap
        ids.append(read_key_file(keys_dir / "data.key").key_id)
    assert len(set(ids)) == 3 and sorted(p.name for p in keys_dir.glob("data*")) == ["data.key"]
    monkeypatch.setenv("IDSVC_DATA_KEY", base64.b64encode(os.urandom(32)).decode())
    assert "IDSVC_DATA_KEY is set" in run("keys", "rotate-data-key", code=1).output


@pytest.mark.slow
def test_rotation_rewraps_appointments_and_queued_emails_too(run, tmp_path):
    with TestClient(fresh_app()) as client:
        admin = login(client, "admin1")
        centre = client.post("/api/v1/centres", headers=admin,
                             json={"code": "CENTRAL", "name": "Central", "address": "1 Main"})
        assert centre.status_code == 201, centre.text
        slots = open_one_day(client, admin, centre.json()["id"])
        booked = client.post("/api/v1/appointments", json=person(slot_id=slots[0]["id"]))
        assert booked.status_code == 201, booked.text
        code = booked.json()["code"]

    run("keys", "rotate-data-key", "--batch-size", "2")
    assert not (tmp_path / "keys" / "data-next.key").exists()

    with TestClient(fresh_app()) as client:
        seen = client.post("/api/v1/appointments/lookup", json={"code": code})
        assert seen.status_code == 200 and seen.json()["name"] == "Amaru"
        outbox = Outbox(client.app, [])
        (confirmation,) = outbox.drain()
        assert confirmation.to == "amaru@example.org"
