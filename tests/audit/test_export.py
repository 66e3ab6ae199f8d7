"""Auditors export a date range of the audit log, with hashes the recipient can check."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from idsvc.audit import service
from idsvc.audit.models import AuditEvent
from idsvc.audit.service import Actor, ExportFormat, ExportRange, read_export, verify_segment
from idsvc.clock import utcnow
from idsvc.config import get_settings
from idsvc.staff.roles import ROLE_PERMISSIONS, Permission, Role
from tests.commands import idsvc_commands

URL = "/api/v1/audit/events"
CSV = {"Accept": "text/csv"}


@pytest.fixture
def session(connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def old_events(session, monkeypatch):
    """Four events around the edges of 3 and 4 February 2001, recorded at those times."""
    times = ["2001-02-02T23:59:59.999999", "2001-02-03T00:00:00", "2001-02-04T23:59:59.999999",
             "2001-02-05T00:00:00"]
    with monkeypatch.context() as patch:
        for moment in times:
            patch.setattr(service, "utcnow", lambda moment=moment: _at(moment))
            service.record(session, actor=Actor("staff", "7"), action="card.read",
                           subject_type="card", subject_id=moment)
    session.commit()
    return times


def _jsonl(response) -> list[dict]:
    return list(read_export(response.text.splitlines(), ExportFormat.JSONL))


def _around_today() -> dict[str, str]:
    today = utcnow().date()
    return {"from": (today - timedelta(days=1)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat()}


def test_the_range_is_whole_utc_days_both_included(client, auditor, old_events):
    r = client.get(URL, params={"from": "2001-02-03", "to": "2001-02-04"}, headers=auditor)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert r.headers["cache-control"] == "no-store"
    assert 'filename="audit-2001-02-03-2001-02-04.jsonl"' in r.headers["content-disposition"]
    rows = _jsonl(r)
    assert [row["subject_id"] for row in rows] == old_events[1:3]
    assert rows[0]["at"] == "2001-02-03T00:00:00.000000+00:00"
    assert set(rows[0]) == set(service.EXPORT_FIELDS)
    one_day = _jsonl(client.get(URL, params={"from": "2001-02-02", "to": "2001-02-02"},
                                headers=auditor))
    assert [row["subject_id"] for row in one_day] == old_events[:1]
    assert _jsonl(client.get(URL, params={"from": "1999-01-01", "to": "1999-12-31"},
                             headers=auditor)) == []


def test_csv_carries_the_same_rows(client, auditor, old_events):
    params = {"from": "2001-02-01", "to": "2001-02-28"}
    as_json = _jsonl(client.get(URL, params=params, headers=auditor))
    r = client.get(URL, params=params, headers={**auditor, **CSV})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0] == ",".join(service.EXPORT_FIELDS)
    as_csv = list(read_export(io.StringIO(r.text, newline=""), ExportFormat.CSV))
    assert len(as_json) == 4
    assert as_csv == as_json
    assert verify_segment(as_csv).ok


def test_the_exported_stretch_verifies_and_ends_with_the_export(client, auditor, session):
    params = _around_today()
    r = client.get(URL, params=params, headers=auditor)
    rows = _jsonl(r)
    report = verify_segment(rows)
    assert report.ok and report.events == len(rows) > 1
    export = rows[-1]
    assert export["action"] == "audit.export" and export["actor_type"] == "staff"
    assert export["subject_id"] == f"{params['from']}..{params['to']}"
    assert json.loads(export["details"])["format"] == "jsonl"
    # Anchored to the live chain: the head is the export's hash.
    assert service.verify_log(session).head == report.head == export["hash"]
    first = session.get(AuditEvent, rows[0]["id"])
    assert first is not None and first.prev_hash == rows[0]["prev_hash"]


def test_a_changed_or_missing_row_in_the_file_is_detected(client, auditor):
    rows = _jsonl(client.get(URL, params=_around_today(), headers=auditor))
    assert len(rows) >= 3
    changed = [dict(row) for row in rows]
    changed[1]["details"] = '{"reason":"nothing"}'
    report = verify_segment(changed)
    assert not report.ok and report.broken_at == rows[1]["id"] and "changed" in report.problem
    report = verify_segment(rows[:1] + rows[2:])
    assert not report.ok and report.broken_at == rows[2]["id"] and "link" in report.problem


def test_auditors_and_roles_with_the_permission_may_export(client, auditor, admin):
    for headers in (auditor, admin):  # roles.py gives administrators every permission
        assert client.get(URL, params=_around_today(), headers=headers).status_code == 200


def _exports(session) -> int:
    statement = select(AuditEvent).where(AuditEvent.action == "audit.export")
    return len(session.exec(statement).all())


def test_roles_without_the_permission_are_refused_and_nothing_is_recorded(
        client, clerk, supervisor, admin, session, monkeypatch):
    before = _exports(session)
    for headers in (clerk, supervisor):
        r = client.get(URL, params=_around_today(), headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.ADMIN,
                        frozenset(Permission) - {Permission.READ_AUDIT})
    r = client.get(URL, params=_around_today(), headers=admin)
    assert r.status_code == 403 and set(r.json()) >= {"error", "message"}
    assert client.get(URL, params=_around_today()).status_code == 401
    assert _exports(session) == before


@pytest.mark.parametrize("params", [
    {"from": "2001-02-04", "to": "2001-02-03"},
    {"from": "2001-02-03"},
    {"to": "2001-02-03"},
    {"from": "3 February", "to": "2001-02-03"},
    {"from": "2001-02-30", "to": "2001-03-01"},
])
def test_bad_ranges_are_422(client, auditor, params):
    r = client.get(URL, params=params, headers=auditor)
    assert r.status_code == 422 and set(r.json()) >= {"error", "message"}


def test_the_calendars_ends_are_ranges_too(client, auditor, old_events):
    rows = _jsonl(client.get(URL, params={"from": "0001-01-01", "to": "9999-12-31"},
                             headers=auditor))
    assert [row["subject_id"] for row in rows if row["action"] == "card.read"][-4:] == old_events
    assert rows[-1]["action"] == "audit.export"


def test_rows_are_read_a_page_at_a_time_in_chain_order(session, old_events):
    span = ExportRange.of(datetime(2001, 2, 1).date(), datetime(2001, 2, 28).date())
    top = session.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first()
    paged = list(service.export_rows(session, span=span, upto_id=top, page=1))
    assert [row["subject_id"] for row in paged] == old_events
    assert paged == list(service.export_rows(session, span=span, upto_id=top))
    assert list(service.export_rows(session, span=span, upto_id=paged[1]["id"])) == paged[:2]


@pytest.fixture
def run(scratch_url, tmp_path, monkeypatch):
    invoke = idsvc_commands(monkeypatch, database_url=scratch_url,
                            keys_dir=str(tmp_path / "keys"))
    invoke("db", "upgrade")
    invoke("centre", "create", "EAST", "East Centre")
    invoke("centre", "create", "WEST", "West Centre")
    yield invoke
    get_settings.cache_clear()


def _range_args() -> list[str]:
    days = _around_today()
    return ["--from", days["from"], "--to", days["to"]]


def test_cli_writes_an_owner_only_file_that_verifies(run, tmp_path):
    out = tmp_path / "audit.jsonl"
    result = run("audit", "export", *_range_args(), "--out", str(out))
    assert "exported 3 events" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(read_export(out.read_text().splitlines(), ExportFormat.JSONL))
    assert [row["action"] for row in rows] == ["centre.create", "centre.create", "audit.export"]
    assert rows[0]["prev_hash"] == service.GENESIS
    assert rows[-1]["actor_type"] == "system" and rows[-1]["actor_id"] == "cli"
    assert verify_segment(rows).ok
    assert "ok: 3 events" in run("audit", "verify").output


def test_cli_writes_csv_to_standard_output_and_refuses_a_backward_range(run):
    result = run("audit", "export", *_range_args(), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [row["action"] for row in rows] == ["centre.create", "centre.create", "audit.export"]
    assert verify_segment(read_export(io.StringIO(result.stdout, newline=""),
                                      ExportFormat.CSV)).ok
    result = run("audit", "export", "--from", "2001-02-04", "--to", "2001-02-03", code=2)
    assert "after" in result.stderr
    run("audit", "export", "--from", "yesterday", "--to", "2001-02-03", code=2)
