"""Start-up refuses weak settings and exposed or unopenable key files (issue 7, item 4).

Everything goes through what an operator runs: the `idsvc` commands and the app factory
uvicorn calls (`create_app()` with no arguments reads the environment, as
`uvicorn idsvc.app:create_app --factory` does).
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from idsvc.app import create_app
from idsvc.cli import app as cli
from idsvc.config import get_settings
from idsvc.crypto import passphrase as locking
from idsvc.crypto.startup import StartupRefused

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "violet staple orbit lantern 42"
STRONG_DB = "postgresql+psycopg://idsvc:Vq7-lK2x_Pz9mW4e@db.internal/idsvc"


@pytest.fixture
def fast_kdf(monkeypatch):
    """A cheaper scrypt for files these tests write (the full cost is tested once, in
    tests/crypto/test_passphrase.py): each command opens the keys again."""
    monkeypatch.setattr(locking, "SCRYPT_N", 2**14)


@pytest.fixture
def production(tmp_path, monkeypatch, fast_kdf):
    """Settings as a careful deployment has them; each test spoils one."""
    for name, value in {"IDSVC_DEMO": "false",
                        "IDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'idsvc.db'}",
                        "IDSVC_KEYS_DIR": str(tmp_path / "keys"),
                        "IDSVC_ISSUER": "https://id.riverton.example",
                        "IDSVC_KEY_PASSPHRASE": PASSPHRASE}.items():
        monkeypatch.setenv(name, value)
    for name in ("IDSVC_DATA_KEY", "IDSVC_COOKIE_SECURE", "IDSVC_KEY_PASSPHRASE_FILE",
                 "IDSVC_ALLOW_UNENCRYPTED_KEYS", "IDSVC_DATABASE_REPLICA_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path / "keys"
    get_settings.cache_clear()


def run(*args: str, code: int = 0):
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result


def refused_at_start() -> str:
    """The refusal of the app factory, as uvicorn would meet it."""
    get_settings.cache_clear()
    with pytest.raises(StartupRefused) as refused:
        create_app()
    return str(refused.value)


def set_up(keys: Path) -> None:
    run("db", "upgrade")
    run("keys", "generate")


def random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


SPOILED = [
    ("IDSVC_COOKIE_SECURE", "false", "IDSVC_COOKIE_SECURE"),
    ("IDSVC_ISSUER", "http://id.riverton.example", "IDSVC_ISSUER"),
    ("IDSVC_DATABASE_URL", "postgresql+psycopg://postgres:postgres@db.internal/idsvc",
     "IDSVC_DATABASE_URL"),
    ("IDSVC_DATABASE_URL", "postgresql+psycopg://idsvc:changeme@db.internal/idsvc",
     "IDSVC_DATABASE_URL"),
    ("IDSVC_DATABASE_URL", "postgresql+psycopg://idsvc:Password@db.internal/idsvc",
     "IDSVC_DATABASE_URL"),
    ("IDSVC_DATABASE_REPLICA_URL", "postgresql+psycopg://idsvc:secret@replica/idsvc",
     "IDSVC_DATABASE_REPLICA_URL"),
    ("IDSVC_DATA_KEY", base64.b64encode(bytes(32)).decode(), "IDSVC_DATA_KEY"),
    ("IDSVC_DATA_KEY", base64.b64encode(b"my secret master key for riverto").decode(),
     "IDSVC_DATA_KEY"),
    ("IDSVC_DATA_KEY", base64.b64encode(os.urandom(16)).decode(), "IDSVC_DATA_KEY"),
    ("IDSVC_KEY_PASSPHRASE", "changeme", "IDSVC_KEY_PASSPHRASE"),
    ("IDSVC_KEY_PASSPHRASE", "short phrase", "IDSVC_KEY_PASSPHRASE"),
]


@pytest.mark.parametrize(("name", "value", "named"), SPOILED)
def test_a_weak_or_default_setting_is_refused_outside_demo_mode(production, monkeypatch,
                                                                  name, value, named):
    monkeypatch.setenv(name, value)
    message = refused_at_start()
    assert named in message
    if name != "IDSVC_COOKIE_SECURE":
        assert value not in message  # a refusal never repeats the secret
    refused = run("db", "upgrade", code=2)
    assert named in refused.output and "refuses to start" in refused.output
    assert not (production.parent / "idsvc.db").exists()  # refused before opening anything


def test_demo_mode_accepts_what_production_refuses(production, monkeypatch):
    monkeypatch.setenv("IDSVC_DEMO", "true")
    monkeypatch.setenv("IDSVC_COOKIE_SECURE", "false")
    monkeypatch.setenv("IDSVC_ISSUER", "http://192.168.1.20:8000")
    monkeypatch.setenv("IDSVC_DATABASE_URL", f"sqlite:///{production.parent / 'demo.db'}")
    monkeypatch.delenv("IDSVC_KEY_PASSPHRASE")
    set_up(production)  # unencrypted keys: fine in demo mode
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        assert client.get("/.well-known/jwks.json").status_code == 200


@pytest.mark.slow
def test_idsvc_demo_runs_in_demo_mode_whatever_the_environment_says(production, monkeypatch):
    served = []
    monkeypatch.setattr("idsvc.cli.uvicorn.run", lambda app, **k: served.append(app))
    monkeypatch.delenv("IDSVC_KEY_PASSPHRASE")
    run("demo")  # plain keys and plain-http cookies: refused anywhere but in the demo
    assert served[0].state.runtime.settings.demo is True
    assert "not encrypted" in run("keys", "list", code=2).output  # the demo's keys


def test_a_malformed_data_key_is_refused_in_every_mode(production, monkeypatch):
    monkeypatch.setenv("IDSVC_DEMO", "true")
    monkeypatch.setenv("IDSVC_DATA_KEY", "not base64!")
    assert "IDSVC_DATA_KEY is not base64" in refused_at_start()


def test_careful_settings_start_and_serve(production, monkeypatch):
    monkeypatch.setenv("IDSVC_DATA_KEY", random_key())
    set_up(production)
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        assert client.get("/.well-known/jwks.json").status_code == 200


def test_serve_refuses_before_uvicorn_starts(production, monkeypatch):
    served = []
    monkeypatch.setattr("idsvc.cli.uvicorn.run", lambda *a, **k: served.append(a))
    monkeypatch.setenv("IDSVC_COOKIE_SECURE", "false")
    assert "IDSVC_COOKIE_SECURE" in run("serve", code=2).output
    assert served == []


@pytest.mark.slow
def test_the_uvicorn_factory_exits_naming_the_setting(production):
    env = {**os.environ, "IDSVC_ISSUER": "http://id.riverton.example"}
    process = subprocess.run(
        [sys.executable, "-m", "uvicorn", "idsvc.app:create_app", "--factory", "--port", "0"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert process.returncode != 0
    assert "IDSVC_ISSUER" in process.stderr


# --- key files and the keys directory, checked at start (not at first use) -------------

@pytest.mark.parametrize(("victim", "demo"), [("data.key", "true"), ("signing", "false")])
def test_a_key_file_others_can_read_stops_start_up(production, monkeypatch, demo, victim):
    set_up(production)
    monkeypatch.setenv("IDSVC_DEMO", demo)
    path = next(p for p in production.iterdir() if p.name.startswith(victim))
    path.chmod(0o640)
    assert "chmod 600" in refused_at_start()
    assert "chmod 600" in run("keys", "list", code=2).output
    path.chmod(0o600)
    run("keys", "list")


@pytest.mark.parametrize("mode", [0o770, 0o707])
def test_a_keys_directory_others_can_write_stops_start_up(production, mode):
    set_up(production)
    production.chmod(mode)
    try:
        assert "chmod 700" in refused_at_start()
        assert "writable by other users" in run("centre", "create", "N", "North", code=2).output
    finally:
        production.chmod(0o700)


def test_new_keys_directories_are_owner_only(production):
    set_up(production)
    assert production.stat().st_mode & 0o077 == 0


# --- passphrase-encrypted keys -----------------------------------------------------------

def test_keys_are_written_encrypted_and_need_the_passphrase(production, monkeypatch):
    set_up(production)
    for path in production.glob("*.key"):
        assert locking.is_locked(path.read_bytes())
    pem = next(production.glob("signing-*.pem")).read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    run("keys", "list")

    monkeypatch.delenv("IDSVC_KEY_PASSPHRASE")
    assert "passphrase-encrypted: set IDSVC_KEY_PASSPHRASE" in refused_at_start()
    assert "passphrase-encrypted" in run("keys", "list", code=2).output
    monkeypatch.setenv("IDSVC_KEY_PASSPHRASE", PASSPHRASE + " but wrong")
    assert "passphrase does not open" in refused_at_start()
    assert "passphrase does not open" in run("keys", "list", code=2).output


def test_the_passphrase_may_come_from_an_owner_only_file(production, monkeypatch, tmp_path):
    set_up(production)
    monkeypatch.delenv("IDSVC_KEY_PASSPHRASE")
    secret_file = tmp_path / "passphrase"
    secret_file.write_text(PASSPHRASE + "\n")
    secret_file.chmod(0o600)
    monkeypatch.setenv("IDSVC_KEY_PASSPHRASE_FILE", str(secret_file))
    run("keys", "list")
    secret_file.chmod(0o644)
    assert "IDSVC_KEY_PASSPHRASE_FILE" in refused_at_start()
    secret_file.chmod(0o600)
    monkeypatch.setenv("IDSVC_KEY_PASSPHRASE", PASSPHRASE)
    assert "both set" in run("keys", "list", code=2).output


@pytest.mark.slow
def test_plain_keys_are_refused_outside_demo_mode_until_encrypted(production, monkeypatch):
    monkeypatch.delenv("IDSVC_KEY_PASSPHRASE")
    monkeypatch.setenv("IDSVC_DEMO", "true")
    set_up(production)  # an installation from before passphrases
    run("staff", "create", "clerk1", "--role", "clerk", "--password", "a long passphrase!")
    monkeypatch.setenv("IDSVC_DEMO", "false")
    message = refused_at_start()
    assert "not encrypted" in message and "idsvc keys encrypt" in message

    monkeypatch.setenv("IDSVC_KEY_PASSPHRASE", PASSPHRASE)
    assert "not encrypted" in run("keys", "list", code=2).output
    out = run("keys", "encrypt").output
    assert "encrypted data.key" in out and "encrypted signing-" in out
    assert "0 key files encrypted" in run("keys", "encrypt").output  # idempotent
    for path in [*production.glob("*.key"), *production.glob("*.pem")]:
        assert locking.is_locked(path.read_bytes())
        assert path.stat().st_mode & 0o077 == 0
    get_settings.cache_clear()
    with TestClient(create_app()) as client:  # every key opens: the clerk can still log in
        token = client.post("/api/v1/auth/token", data={
            "username": "clerk1", "password": "a long passphrase!"})
        assert token.status_code == 200


def test_an_interrupted_encrypt_leaves_whole_files_and_resumes(production, monkeypatch):
    monkeypatch.delenv("IDSVC_KEY_PASSPHRASE")
    monkeypatch.setenv("IDSVC_DEMO", "true")
    set_up(production)
    monkeypatch.setenv("IDSVC_KEY_PASSPHRASE", PASSPHRASE)
    real_replace, calls = os.replace, []

    def power_cut(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("power cut")
        real_replace(source, target)

    monkeypatch.setattr("idsvc.crypto.keyfiles.os.replace", power_cut)
    run("keys", "encrypt", code=1)
    monkeypatch.setattr("idsvc.crypto.keyfiles.os.replace", real_replace)
    locked = [locking.is_locked(p.read_bytes()) for p in sorted(production.glob("[ds]*.*"))]
    assert sorted(locked) == [False, True]  # one done, one untouched; neither half-written
    monkeypatch.setenv("IDSVC_DEMO", "false")
    assert "encrypted" in run("keys", "encrypt").output
    run("keys", "list")


def test_allowing_unencrypted_keys_starts_with_a_warning(production, monkeypatch, caplog):
    monkeypatch.delenv("IDSVC_KEY_PASSPHRASE")
    monkeypatch.setenv("IDSVC_DEMO", "true")
    set_up(production)
    monkeypatch.setenv("IDSVC_DEMO", "false")
    monkeypatch.setenv("IDSVC_ALLOW_UNENCRYPTED_KEYS", "true")
    get_settings.cache_clear()
    with caplog.at_level(logging.WARNING, logger="idsvc"):
        create_app()
    assert "not encrypted" in caplog.text and "data.key" in caplog.text
