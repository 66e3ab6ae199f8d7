"""DESIGN §5 as tests: no status fields anywhere, nothing personal in clear in a dump."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from idsvc import migrations
from idsvc.app import create_app
from idsvc.audit.service import Actor
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import ensure_signing_key
from idsvc.db import make_engine, make_sessionmaker, metadata
from idsvc.staff.roles import Role
from idsvc.staff.service import create_staff, open_session
from tests.conftest import PASSWORD, settings_for
from tests.factories import applicant, enroll_and_approve

FORBIDDEN = re.compile(r"immigra|citizen|nationality|country_of_birth|birth_country|visa|"
                       r"social_security|\bssn\b|legal_status|alien", re.IGNORECASE)


def test_no_table_has_a_forbidden_column():
    for table in metadata.tables.values():
        for column in table.columns:
            assert not FORBIDDEN.search(column.name), f"{table.name}.{column.name}"


def test_no_api_schema_has_a_forbidden_field(client):
    spec = client.get("/openapi.json").text
    assert not FORBIDDEN.search(spec)


def _committed_enrollment(url: str, keys_dir: Path) -> None:
    """Enroll and approve through the API on a database that really commits."""
    migrations.upgrade(url)
    engine = make_engine(url)
    settings = settings_for(url, keys_dir)
    master = MasterKey.from_secret(os.urandom(32))
    with make_sessionmaker(engine)() as session:
        ensure_signing_key(session, keys_dir=keys_dir)
        clerk = create_staff(session, username="clerk", password=PASSWORD, role=Role.CLERK,
                             centre_id=None, actor=Actor.system())
        token, _ = open_session(session, staff=clerk, kind="api", lifetime=timedelta(hours=1))
        session.commit()
    app = create_app(settings, master_key=master)
    with TestClient(app) as client:
        enroll_and_approve(client, {"Authorization": f"Bearer {token}"},
                           emergency_contact={"name": "Rosa Quispe", "phone": "+1 555 010 2030"})
    engine.dispose()


def _dump(backend: str, url: str) -> bytes:
    if backend == "sqlite":
        path = Path(make_url(url).database)
        files = [path, Path(f"{path}-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    pg = make_url(url)
    return subprocess.run(
        ["pg_dump", "-h", pg.host or "127.0.0.1", "-p", str(pg.port or 5432),
         "-U", pg.username or "postgres", "--data-only", pg.database],
        check=True, capture_output=True).stdout


@pytest.mark.slow
def test_database_dump_shows_nothing_personal(backend, scratch_url, tmp_path):
    _committed_enrollment(scratch_url, tmp_path / "keys")
    dump = _dump(backend, scratch_url)
    assert len(dump) > 10_000  # the dump really holds the enrollment
    # Not the postal code: five digits turn up by chance in a hex dump of ciphertext.
    for secret in (b"Amaru", b"Quispe", b"Mamani", b"Hudson", b"1988-04-17",
                   b"19880417", b"Rosa", b"555 010", b"JFIF", b"WEBP"):
        assert secret not in dump, secret


def test_unexpected_error_is_json_and_does_not_log_request_data(app, caplog):
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret Amaru Quispe")

    # The exception must not escape the app: a server would log its text with a traceback.
    with TestClient(app, raise_server_exceptions=True) as client, caplog.at_level("DEBUG"):
        r = client.get("/boom")
    assert r.status_code == 500 and r.json()["error"] == "internal_error"
    assert "Amaru" not in caplog.text and "RuntimeError" in caplog.text


def test_oversized_body_is_refused_before_parsing(client, clerk):
    too_big = b"x" * (11 * 1024 * 1024 + 10)
    created = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    r = client.put(f"/api/v1/applications/{created['id']}/photo",
                   files={"file": ("big.jpg", too_big, "image/jpeg")}, headers=clerk)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
