"""A full disk under SQLite: writes are refused with a clear answer, reads go on, and
once space is freed the database is intact, with everything written before.

The kind of full disk decides the answer (tests/faults/disks.py): no space left (ENOSPC)
is 507 `storage_full`; a write refused otherwise (a quota or file size limit, EFBIG) is
503 `storage_error`.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.factories import applicant, portrait, years_ago
from tests.faults.disks import DATABASE, FileSizeLimit, Tmpfs
from tests.faults.invariants import all_problems
from tests.faults.seed import approved_card, card_qr, partner
from tests.faults.server import Deployment, Server
from tests.live import committed_staff

pytestmark = pytest.mark.slow

HEADROOM = 512 * 1024


@pytest.fixture(params=[Tmpfs, FileSizeLimit], ids=["tmpfs", "file_size_limit"])
def disk(request, tmp_path) -> Iterator[Tmpfs | FileSizeLimit]:
    try:
        made = request.param(tmp_path / "disk")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot mount a tmpfs here (it needs root)")
    try:
        yield made
    finally:
        made.close()


def _new_applicant(client: httpx.Client, clerk: dict[str, str], n: int) -> httpx.Response:
    """Create an application and add its photo (the bulk of what it stores); the first
    answer that is not a success."""
    r = client.post("/api/v1/applications", headers=clerk, json=applicant(
        given_name=f"Wayra {n}", date_of_birth=years_ago(40, days=n).isoformat()))
    if r.status_code != 201:
        return r
    photo = client.put(f"/api/v1/applications/{r.json()['id']}/photo", headers=clerk,
                       files={"file": ("p.jpg", portrait(seed=n), "image/jpeg")})
    return r if photo.status_code == 200 else photo


def _assert_refused(response: httpx.Response, expected: tuple[int, str]) -> None:
    assert (response.status_code, response.json()["error"]) == expected, response.text
    assert "nothing was saved" in response.json()["message"]


def test_a_full_disk_refuses_writes_clearly_and_keeps_everything_written(disk, tmp_path):
    expected = disk.refusal
    keys_dir = tmp_path / "keys"
    headers = committed_staff(disk.database_url, keys_dir)
    clerk, admin = headers["clerk"], headers["admin"]
    server = Server(Deployment(disk.database_url, keys_dir))
    server.start()
    try:
        with server.client() as client:
            number = approved_card(client, clerk, 0)
            qr = card_qr(client, clerk, number)
            museum = partner(client, admin)

        # Nearly full: writes succeed until one does not fit, and that one is refused.
        disk.fill(server, headroom=HEADROOM)
        stored: list[str] = []  # applications answered 201, each with its photo
        with server.client() as client:
            for n in range(1, 80):
                r = _new_applicant(client, clerk, n)
                if r.status_code >= 300:
                    break
                stored.append(r.json()["id"])
            _assert_refused(r, expected)
        assert stored, "the headroom took no write at all"

        # Full: every write is refused, on the API and on the pages; reads go on.
        disk.fill(server, headroom=0)
        with server.client() as client:
            _assert_refused(_new_applicant(client, clerk, 99), expected)
            _assert_refused(museum.redeem(client, number, "full-disk-1"), expected)
            client.cookies.set("idsvc_csrf", "t" * 32)
            login = client.post("/staff/login", data={
                "csrf_token": "t" * 32, "username": "clerk", "password": PASSWORD})
            assert login.status_code == expected[0]
            assert login.headers["content-type"].startswith("text/html")
            assert museum.verify(client, qr).json()["result"] == "valid"
            assert client.get("/status/1").status_code == 200
            assert client.get("/.well-known/jwks.json").status_code == 200
            assert client.get("/api/v1/benefits").status_code == 200

        # Space freed: writes work again, and nothing written before was damaged.
        disk.free(server)
        with server.client() as client:
            r = _new_applicant(client, clerk, 100)
            assert r.status_code == 201, r.text
            stored.append(r.json()["id"])
            for app_id in stored:  # the age is read from the sealed personal data
                view = client.get(f"/api/v1/applications/{app_id}", headers=clerk).json()
                assert (view["age"], view["has_photo"]) == (40, True), view
        with closing(sqlite3.connect(disk.folder / DATABASE)) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert all_problems(disk.database_url) == []
        audit = server.deployment.cli("audit", "verify")
        assert audit.returncode == 0, audit.stderr
    finally:
        server.kill()
