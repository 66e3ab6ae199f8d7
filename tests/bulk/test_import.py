"""`idsvc import FILE.csv`: bulk enrollment with the API's rules, a report, and resume."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from idsvc.app import create_app
from idsvc.audit.service import Actor
from idsvc.bulk import importer
from idsvc.bulk.preparation import Job, Preparer, Preparers
from idsvc.bulk.source import SourceRow
from idsvc.config import get_settings
from idsvc.crypto import keyring
from idsvc.crypto.envelope import MasterKey
from idsvc.db import make_engine
from idsvc.enrollment.photo import PhotoLimits
from idsvc.enrollment.policy import load_policy
from idsvc.errors import Unavailable
from idsvc.status.service import Slot
from tests.bulk.conftest import Run, person, write_csv
from tests.conftest import PASSWORD
from tests.factories import card_qr, partner_headers

pytestmark = pytest.mark.slow  # each test sets up a database and staff through the CLI


def _scalar(sql: str) -> int:
    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def _column(sql: str) -> list[str]:
    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).scalars())
    finally:
        engine.dispose()


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_issues_cards_that_verify(run: Run, tmp_path: Path) -> None:
    rows = [person(i) for i in range(7)]
    rows[1].update(address_kind="care_of", address_care_of="Harbor Shelter", veteran="true",
                   emergency_contact_name="Rosa Quispe", emergency_contact_phone="+1 555 0100")
    source = write_csv(tmp_path / "people.csv", rows)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--batch-size", "3",
                 "--workers", "1")
    assert "7 imported, 0 rejected of 7 rows" in result.output
    assert _report(tmp_path / "people.rejected.csv") == []
    numbers = _column("SELECT number FROM cards")
    assert len(numbers) == 7
    assert _scalar("SELECT count(*) FROM applications WHERE status = 'approved'") == 7
    assert _scalar("SELECT count(*) FROM cards c JOIN service_centres s ON s.id = c.centre_id "
                   "WHERE s.code = 'NORTH'") == 7
    assert _scalar("SELECT count(*) FROM audit_events WHERE action = 'import.batch'") == 3

    with TestClient(create_app(get_settings())) as client:
        token = client.post("/api/v1/auth/token", data={"username": "ada", "password": PASSWORD})
        staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
        partner = partner_headers(client, staff)
        for number in numbers:
            verdict = client.post("/api/v1/verify", json={"qr": card_qr(client, staff, number)},
                                  headers=partner)
            assert verdict.json()["result"] == "valid", verdict.text

    again = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--workers", "0")
    assert "7 imported, 0 rejected of 7 rows" in again.output
    assert _scalar("SELECT count(*) FROM cards") == 7  # the finished file is not imported twice
    assert "ok:" in run("audit", "verify").output


def test_rejected_rows_are_reported_by_line_and_reason(run: Run, tmp_path: Path) -> None:
    rows = [
        person(0),                                              # line 2: imported
        person(1, date_of_birth="1979-02-30"),                  # line 3: no such date
        person(2, given_name=""),                               # line 4: no name
        person(0, address_line1="9 Other Street"),              # line 5: same person as line 2
        person(3, documents="passport;library_card"),           # line 6: unknown document
        person(4, documents="utility_bill"),                    # line 7: too few points
        person(5, photo="../outside.jpg"),                      # line 8: photo outside folder
        person(6, photo="missing.jpg"),                         # line 9: no such photo
        person(7, date_of_birth="2020-01-01"),                  # line 10: too young
        person(8),                                              # line 11: imported
        person(9, photo="broken.jpg"),                          # line 12: not an image
    ]
    source = write_csv(tmp_path / "people.csv", rows)
    (tmp_path / "broken.jpg").write_bytes(b"not a photo at all")
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--batch-size", "4",
                 "--workers", "1")
    assert "2 imported, 9 rejected of 11 rows" in result.output
    report = _report(tmp_path / "people.rejected.csv")
    found = {(int(r["line"]), r["column"], r["code"]) for r in report}
    assert {(3, "date_of_birth", "date_from_datetime_parsing"), (4, "given_name", "missing"),
            (5, "", "duplicate"), (6, "documents", "unknown_document_type"),
            (7, "documents", "identity_points"), (8, "photo", "photo_outside_folder"),
            (9, "photo", "photo_not_found"), (10, "date_of_birth", "under_minimum_age"),
            (12, "photo", "photo_unsupported")} <= found
    assert {int(r["line"]) for r in report} == {*range(3, 11), 12}
    written = (tmp_path / "people.rejected.csv").read_text()
    for row in rows:  # line, column and reason only: nothing of the person
        for value in (row["given_name"], row["address_line1"]):
            assert not value or value not in written
    assert _scalar("SELECT count(*) FROM residents") == 2  # refused rows left nothing behind


def test_unknown_column_refuses_the_whole_file(run: Run, tmp_path: Path) -> None:
    rows = [{**person(i), "nationality": "x"} for i in range(3)]
    source = write_csv(tmp_path / "old-program.csv", rows)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--workers", "0",
                 code=1)
    assert "unknown_column" in result.output
    assert "'nationality'" in result.output
    for table in ("residents", "applications", "cards", "import_runs"):
        assert _scalar(f"SELECT count(*) FROM {table}") == 0


def test_duplicates_are_imported_only_when_allowed(run: Run, tmp_path: Path) -> None:
    run("import", str(write_csv(tmp_path / "first.csv", [person(0)])), "--centre", "NORTH",
        "--as", "sam", "--workers", "0")
    second = write_csv(tmp_path / "second.csv", [person(0, address_line1="2 New Road")])
    result = run("import", str(second), "--centre", "NORTH", "--as", "sam", "--workers", "0")
    assert "0 imported, 1 rejected" in result.output
    third = write_csv(tmp_path / "third.csv", [person(0, address_line1="3 New Road")])
    result = run("import", str(third), "--centre", "NORTH", "--as", "ada",
                 "--allow-duplicates", "--workers", "0")
    assert "1 imported, 0 rejected" in result.output
    assert _scalar("SELECT count(*) FROM cards") == 2


def test_only_supervisors_and_administrators_import(run: Run, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "people.csv", [person(0)])
    result = run("import", str(source), "--centre", "NORTH", "--as", "cleo", "--workers", "0",
                 code=1)
    assert "import_not_allowed" in result.output
    run("import", str(source), "--centre", "NOWHERE", "--as", "sam", "--workers", "0",
                 code=1)
    assert _scalar("SELECT count(*) FROM import_runs") == 0


def test_an_interrupted_import_resumes_after_the_last_committed_batch(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [person(i) for i in range(11)]
    rows[4]["given_name"] = ""  # one refusal before the interruption, kept in the report
    source = write_csv(tmp_path / "people.csv", rows)
    real = importer.store_batch
    calls: list[int] = []

    def interrupted_at_third(session, outcomes, **kwargs):
        calls.append(outcomes[0].line)
        real(session, outcomes, **kwargs)  # the work is done, then Ctrl-C before the commit
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(importer, "store_batch", interrupted_at_third)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--batch-size", "3",
                 "--workers", "0", code=130)
    assert "rows up to line 7 are committed" in result.output
    assert _scalar("SELECT count(*) FROM cards") == 5  # two batches of 3, one row refused
    assert _scalar("SELECT last_line FROM import_runs") == 7

    monkeypatch.setattr(importer, "store_batch", real)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--batch-size", "3",
                 "--workers", "1")
    assert "10 imported, 1 rejected of 11 rows" in result.output
    assert _scalar("SELECT count(*) FROM cards") == 10
    assert _scalar("SELECT count(DISTINCT match_key) FROM residents") == 10
    assert _scalar("SELECT count(*) FROM residents") == 10
    assert [int(r["line"]) for r in _report(tmp_path / "people.rejected.csv")] == [6]
    assert "ok:" in run("audit", "verify").output


def test_every_imported_row_is_audited_as_a_clerks_requests_and_gets_its_own_slot(
        run: Run, tmp_path: Path) -> None:
    rows = [person(i) for i in range(6)]
    rows[2]["documents"] = "utility_bill"  # refused at approval, after its first writes
    source = write_csv(tmp_path / "people.csv", rows)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--batch-size", "4",
                 "--workers", "0")
    assert "5 imported, 1 rejected of 6 rows" in result.output
    applications = _column("SELECT id FROM applications ORDER BY created_at")
    assert len(applications) == 5  # the refused row left nothing behind, events included
    for application in applications:
        assert _column("SELECT action FROM audit_events WHERE subject_id = "
                       f"'{application}' ORDER BY id") == [
            "application.create", "application.document", "application.document",
            "application.photo", "application.approve"]
    assert _scalar("SELECT count(*) FROM audit_events WHERE action = 'card.issue'") == 5
    assert _scalar("SELECT count(*) FROM audit_events a JOIN cards c ON c.id = a.subject_id "
                   "WHERE a.action = 'card.issue'") == 5
    assert _scalar("SELECT count(*) FROM audit_events WHERE action LIKE 'application.%'") == 25
    # Each card its own status slot; each list counts exactly the entries it gave out.
    assert _scalar("SELECT count(DISTINCT status_list_id * 1000000 + status_idx) "
                   "FROM cards") == 5
    assert _scalar("SELECT count(*) FROM status_entries") == 5
    assert _scalar("SELECT sum(allocated) FROM status_lists") == 5
    assert "ok:" in run("audit", "verify").output


def test_a_batch_whose_slot_a_clerk_took_meanwhile_is_drawn_again(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_csv(tmp_path / "people.csv", [person(i) for i in range(5)])
    real = importer.Drawing.jobs
    stolen: list[tuple[int, int]] = []

    def jobs_then_a_clerk_issues(self, sessions, rows):
        jobs = real(self, sessions, rows)
        if not stolen:  # a desk's card takes the first row's slot before the batch is stored
            slot = jobs[0].slot
            stolen.append((slot.list_id, slot.idx))
            with sessions() as session:
                session.execute(text("INSERT INTO status_entries (list_id, idx, status) "
                                     "VALUES (:l, :i, 0)"), {"l": slot.list_id, "i": slot.idx})
                session.commit()
        return jobs

    monkeypatch.setattr(importer.Drawing, "jobs", jobs_then_a_clerk_issues)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--workers", "0")
    assert "5 imported, 0 rejected of 5 rows" in result.output
    slots = _column("SELECT status_list_id || ':' || status_idx FROM cards")
    assert len(set(slots)) == 5 and "{}:{}".format(*stolen[0]) not in slots
    assert _scalar("SELECT count(*) FROM audit_events WHERE action = 'card.issue'") == 5
    assert "ok:" in run("audit", "verify").output


def test_a_signing_key_rotated_during_the_import_stops_it_until_run_again(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_csv(tmp_path / "people.csv", [person(i) for i in range(6)])
    real = importer._store
    calls: list[int] = []

    def rotating_before_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # an administrator rotates while the batch is being signed
            engine = make_engine(get_settings().database_url)
            with Session(engine) as other:
                keyring.rotate(other, keys_dir=get_settings().keys_dir, actor=Actor.system())
                other.commit()
            engine.dispose()
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "_store", rotating_before_the_second)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--batch-size", "3",
                 "--workers", "0", code=1)
    assert "signing_key_changed" in result.output
    assert _scalar("SELECT count(*) FROM cards") == 3  # the first batch, signed before
    monkeypatch.setattr(importer, "_store", real)
    result = run("import", str(source), "--centre", "NORTH", "--as", "sam", "--batch-size", "3",
                 "--workers", "0")
    assert "6 imported, 0 rejected of 6 rows" in result.output
    kids = _column("SELECT c.kid FROM cards c ORDER BY c.issued_at")
    active = _column("SELECT kid FROM signing_keys WHERE state = 'active'")
    assert kids[3:] == active * 3 and active[0] not in kids[:3]


def test_a_worker_that_cannot_start_stops_the_import_with_a_clear_error() -> None:
    broken = Preparer(keys=MasterKey.from_secret(os.urandom(32)), issuer="https://x.example",
                      timezone="UTC", policy=load_policy(), qr_max_version=20, kid="k",
                      signing_key=b"not a key", centre_id=1, staff_id="s", run_id=1,
                      photo_limits=PhotoLimits())
    with Preparers(broken, workers=1) as preparers:
        wait = preparers.submit([Job(SourceRow(2, {}), "123456789012", Slot(1, 1))])
        with pytest.raises(Unavailable) as caught:
            wait()
    assert caught.value.code == "import_worker_failed"
