"""`idsvc backup` and `idsvc restore` as an operator runs them after losing a server.

A city is built through the API (cards issued, one revoked, a benefit redeemed, the
signing key rotated and a card signed by the new key), backed up, and restored into a
fresh database and an empty keys directory, on the same backend and on the other one.
The restored service must give every card the verdict it had, keep its audit chain,
decrypt personal data and go on issuing cards.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from idsvc.app import create_app
from idsvc.cli import app as cli
from idsvc.config import Settings, get_settings
from idsvc.crypto.envelope import load_master_key
from idsvc.crypto.keyfiles import write_secret
from idsvc.db import make_engine
from tests.conftest import PASSWORD, settings_for
from tests.databases import scratch_database, selected_backends
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.live import committed_staff

pytestmark = pytest.mark.slow

PASSPHRASE = "river stone lantern copper"
CHUNK = 64 * 1024 + 16  # sealed chunk: plaintext chunk and tag


@dataclass(frozen=True)
class Target:
    """A database and keys directory, as the environment of one `idsvc` run names them."""

    url: str
    keys: Path
    data_key: str | None = None

    def env(self, **extra: str | None) -> dict[str, str | None]:
        return {"IDSVC_DATABASE_URL": self.url, "IDSVC_KEYS_DIR": str(self.keys),
                "IDSVC_DATA_KEY": self.data_key, "IDSVC_BACKUP_PASSPHRASE": PASSPHRASE,
                **extra}

    def settings(self) -> Settings:
        return settings_for(self.url, self.keys).model_copy(update={"data_key": self.data_key})

    def is_untouched(self) -> bool:
        engine = make_engine(self.url)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        return tables == [] and not (self.keys.exists() and any(self.keys.iterdir()))


def idsvc(target: Target, *args: str, code: int = 0, **env: str | None) -> Any:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, list(args), env=target.env(**env))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == code, result.output
    return result


@dataclass(frozen=True)
class Expected:
    qr: str
    result: str
    full_name: str


@dataclass(frozen=True)
class City:
    target: Target
    backup: Path
    cards: dict[str, Expected]
    police: dict[str, str]
    museum: dict[str, str]
    benefit_id: int
    redeemed: str
    old_token: dict[str, str]
    kids: list[str]


def _expected(client: TestClient, police: dict[str, str], clerk: dict[str, str],
              number: str) -> Expected:
    qr = card_qr(client, clerk, number)
    result = client.post("/api/v1/verify", json={"qr": qr}, headers=police).json()["result"]
    full_name = client.get(f"/api/v1/cards/{number}", headers=clerk).json()["full_name"]
    return Expected(qr, result, full_name)


def _kids(client: TestClient) -> list[str]:
    return sorted(key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"])


def build_city(target: Target) -> City:
    headers = committed_staff(target.url, target.keys)
    load_master_key(keys_dir=target.keys, encoded=None, create=True)
    clerk, admin = headers["clerk"], headers["admin"]
    with TestClient(create_app(target.settings())) as client:
        kept = enroll_and_approve(client, clerk)["card_number"]
        revoked = enroll_and_approve(client, clerk, given_name="Wanda", family_name="Nowak",
                                     date_of_birth="1979-02-03")["card_number"]
        r = client.post(f"/api/v1/cards/{revoked}/revoke", json={"reason": "stolen"},
                        headers=clerk)
        assert r.status_code == 200, r.text
        police = partner_headers(client, admin, "law_enforcement")
        partner = client.post("/api/v1/partners", json={"name": "Riverton Museum",
                                                        "kind": "cultural"}, headers=admin)
        museum_key = client.post(f"/api/v1/partners/{partner.json()['id']}/keys", headers=admin)
        museum = {"Authorization": f"Bearer {museum_key.json()['api_key']}"}
        benefit = client.post(f"/api/v1/partners/{partner.json()['id']}/benefits",
                              json={"name": "Free membership", "category": "culture"},
                              headers=admin).json()
        redeemed = client.post("/api/v1/redemptions", json={
            "benefit_id": benefit["id"], "card_number": kept},
            headers={**museum, "Idempotency-Key": "first-visit"})
        assert redeemed.status_code == 201, redeemed.text
        assert client.post("/api/v1/keys/rotate", headers=admin).status_code == 201
        after = enroll_and_approve(client, clerk, given_name="Chidi", family_name="Okafor",
                                   date_of_birth="1995-07-21")["card_number"]
        cards = {n: _expected(client, police, clerk, n) for n in (kept, revoked, after)}
        kids = _kids(client)
    assert [cards[n].result for n in (kept, revoked, after)] == ["valid", "revoked", "valid"]
    assert len(kids) == 2
    backup = target.keys.parent / "city.backup"
    idsvc(target, "backup", "--out", str(backup))
    return City(target, backup, cards, police, museum, benefit["id"], kept, clerk, kids)


@pytest.fixture(scope="module")
def city(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    folder = tmp_path_factory.mktemp(f"city-{backend}")
    with scratch_database(backend, folder) as url:
        yield build_city(Target(url, folder / "keys"))


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[Target]:
    """An empty database of the same backend and an empty keys directory."""
    with scratch_database(backend, tmp_path) as url:
        yield Target(url, tmp_path / "restored-keys")


def log_in(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def assert_restored(target: Target, city: City) -> None:
    with TestClient(create_app(target.settings())) as client:
        any_card = next(iter(city.cards))
        assert client.get(f"/api/v1/cards/{any_card}",
                          headers=city.old_token).status_code == 401  # sessions stay behind
        clerk = log_in(client, "clerk")
        for number, expected in city.cards.items():
            by_qr = client.post("/api/v1/verify", json={"qr": expected.qr}, headers=city.police)
            by_number = client.post("/api/v1/verify", json={"card_number": number},
                                    headers=city.police)
            assert by_qr.json()["result"] == by_number.json()["result"] == expected.result
            card = client.get(f"/api/v1/cards/{number}", headers=clerk).json()
            assert card["full_name"] == expected.full_name  # personal data decrypts
            assert card_qr(client, clerk, number) == expected.qr
        assert _kids(client) == city.kids
        log = client.get("/api/v1/redemptions", headers=city.museum).json()
        assert len(log) == 1
        again = client.post("/api/v1/redemptions", json={
            "benefit_id": city.benefit_id, "card_number": city.redeemed},
            headers={**city.museum, "Idempotency-Key": "second-visit"})
        assert again.status_code == 409 and again.json()["error"] == "already_redeemed"
        # Ids and sequences go on where the backup left them.
        enroll_and_approve(client, clerk, given_name="Nadia", family_name="Haddad",
                           date_of_birth="2001-11-30")
    assert "ok:" in idsvc(target, "audit", "verify").output


def _key_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()
            if p.is_file() and p.name != "README.md"}


def test_a_restored_city_verifies_every_card_and_keeps_its_audit_chain(city, fresh):
    result = idsvc(fresh, "restore", str(city.backup))
    assert "audit log: ok" in result.output and "cards: 3 rows" in result.output
    assert _key_files(fresh.keys) == _key_files(city.target.keys)
    for path in fresh.keys.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert_restored(fresh, city)


def test_a_backup_restores_on_the_other_backend(city, backend, tmp_path):
    other = "postgresql" if backend == "sqlite" else "sqlite"
    if other not in selected_backends():
        pytest.skip(f"{other} is not among the test backends")
    with scratch_database(other, tmp_path) as url:
        target = Target(url, tmp_path / "keys")
        idsvc(target, "db", "upgrade")  # an empty schema at the same revision is accepted
        idsvc(target, "restore", str(city.backup))
        assert_restored(target, city)


def test_check_reads_the_whole_backup_without_restoring(city):
    result = idsvc(city.target, "backup", "--check", str(city.backup))
    assert "ok: every part authenticates" in result.output
    assert "cards: 3 rows" in result.output and "data key: file" in result.output
    wrong = idsvc(city.target, "backup", "--check", str(city.backup), code=1,
                  IDSVC_BACKUP_PASSPHRASE="not the passphrase at all")
    assert "backup_unreadable" in wrong.output


def _flip(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x20
    return bytes(damaged)


def _header_end(data: bytes) -> int:
    return 10 + int.from_bytes(data[8:10], "big")


DAMAGE = {
    "flipped near the end": (lambda d: _flip(d, len(d) - 40), "backup_corrupt"),
    "flipped in the middle": (lambda d: _flip(d, len(d) // 2), "backup_corrupt"),
    "flipped in the header": (lambda d: _flip(d, 20), "backup_"),
    "cut at a chunk boundary": (lambda d: d[:_header_end(d) + CHUNK], "backup_truncated"),
    "cut by one byte": (lambda d: d[:-1], "backup_corrupt"),
    "chunk appended": (lambda d: d + d[_header_end(d):_header_end(d) + CHUNK],
                       "backup_corrupt"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_backup_restores_nothing(city, fresh, tmp_path, damage):
    data = city.backup.read_bytes()
    assert len(data) > 3 * CHUNK  # several chunks, so early ones authenticate before the fault
    change, code = DAMAGE[damage]
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(change(data))
    result = idsvc(fresh, "restore", str(damaged), code=1)
    assert code in result.output and "nothing was restored" in result.output
    assert fresh.is_untouched()


def test_a_wrong_passphrase_restores_nothing(city, fresh):
    result = idsvc(fresh, "restore", str(city.backup), code=1,
                   IDSVC_BACKUP_PASSPHRASE="not the passphrase at all")
    assert "Wrong passphrase" in result.output
    assert fresh.is_untouched()


def test_restore_refuses_a_database_that_holds_data(city, fresh):
    idsvc(fresh, "db", "upgrade")
    idsvc(fresh, "centre", "create", "EAST", "East Centre")
    result = idsvc(fresh, "restore", str(city.backup), code=1)
    assert "target_not_empty" in result.output and "createdb" in result.output
    assert not fresh.keys.exists()
    refused = idsvc(city.target, "restore", str(city.backup), code=1)  # the live database
    assert "target_not_empty" in refused.output


def test_restore_never_replaces_a_different_key_file(city, fresh):
    write_secret(fresh.keys / "data.key", base64.b64encode(os.urandom(32)) + b"\n")
    before = (fresh.keys / "data.key").read_bytes()
    result = idsvc(fresh, "restore", str(city.backup), code=1)
    assert "key_file_conflict" in result.output
    assert (fresh.keys / "data.key").read_bytes() == before
    assert list(fresh.keys.iterdir()) == [fresh.keys / "data.key"]
    engine = make_engine(fresh.url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()


def test_the_backup_file_is_owner_only_sealed_and_never_overwritten(city):
    data = city.backup.read_bytes()
    assert stat.S_IMODE(city.backup.stat().st_mode) == 0o600
    assert b"Quispe" not in data and b"BEGIN PRIVATE KEY" not in data
    result = idsvc(city.target, "backup", "--out", str(city.backup), code=1)
    assert "backup_exists" in result.output
    assert hashlib.sha256(city.backup.read_bytes()).digest() == hashlib.sha256(data).digest()
    weak = idsvc(city.target, "backup", "--out", str(city.backup.with_suffix(".weak")),
                 code=1, IDSVC_BACKUP_PASSPHRASE="short")
    assert "weak_passphrase" in weak.output
    assert not city.backup.with_suffix(".weak").exists()


def test_a_backup_without_the_data_key_needs_the_citys_copy(city, fresh, tmp_path):
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o644)
    out = tmp_path / "no-master-key.backup"
    exposed = idsvc(city.target, "backup", "--out", str(out), "--without-data-key",
                    "--passphrase-file", str(secret), code=1, IDSVC_BACKUP_PASSPHRASE=None)
    assert "readable by other users" in exposed.output and not out.exists()
    secret.chmod(0o600)
    idsvc(city.target, "backup", "--out", str(out), "--without-data-key",
          "--passphrase-file", str(secret), IDSVC_BACKUP_PASSPHRASE=None)
    assert "data key: left out" in idsvc(city.target, "backup", "--check", str(out)).output

    missing = idsvc(fresh, "restore", str(out), code=1)
    assert "data_key_missing" in missing.output and fresh.is_untouched()
    city_copy = (city.target.keys / "data.key").read_bytes()
    write_secret(fresh.keys / "data.key", city_copy)  # the key the city keeps apart
    idsvc(fresh, "restore", str(out))
    assert (fresh.keys / "data.key").read_bytes() == city_copy
    assert_restored(fresh, city)


def test_a_restore_shreds_again_whoever_was_shredded_after_the_backup(backend, tmp_path):
    with scratch_database(backend, tmp_path / "live") as url:
        live = Target(url, tmp_path / "live" / "keys")
        city = build_city(live)
        gone = next(n for n, e in city.cards.items() if e.result == "valid")
        idsvc(live, "retention", "shred", gone, "--reason", "erasure_request", "--yes")
        ledger = tmp_path / "ledger.json"
        idsvc(live, "retention", "ledger-export", "--out", str(ledger))
        with scratch_database(backend, tmp_path / "restored") as restored_url:
            target = Target(restored_url, tmp_path / "restored" / "keys")
            result = idsvc(target, "restore", str(city.backup), "--shred-ledger", str(ledger))
            assert "shred ledger: 1 resident(s) shredded again" in result.output
            with TestClient(create_app(target.settings())) as client:
                clerk = log_in(client, "clerk")
                r = client.get(f"/api/v1/cards/{gone}", headers=clerk)
                assert r.status_code == 404 and r.json()["error"] == "personal_data_destroyed"
                verdict = client.post("/api/v1/verify", json={"qr": city.cards[gone].qr},
                                      headers=city.police).json()
                assert verdict["result"] == "revoked" and "card" not in verdict
                kept = next(n for n in city.cards if n != gone)
                assert client.get(f"/api/v1/cards/{kept}", headers=clerk).status_code == 200
            assert "ok:" in idsvc(target, "audit", "verify").output


def test_a_ledger_that_is_not_one_restores_nothing(city, fresh, tmp_path):
    bogus = tmp_path / "ledger.json"
    bogus.write_text('{"entries": []}')
    result = idsvc(fresh, "restore", str(city.backup), "--shred-ledger", str(bogus), code=1)
    assert "invalid_ledger" in result.output
    assert fresh.is_untouched()
