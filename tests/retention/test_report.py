"""The data-minimisation report: counts by category and age, for auditors and admins only."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlmodel import select

from idsvc.audit.models import AuditEvent
from idsvc.clock import utcnow
from idsvc.retention.policy import years_before
from idsvc.retention.report import build_report
from idsvc.retention.shredding import ShredReason
from tests.factories import enroll, enroll_and_approve
from tests.retention.helpers import database_session, resident_of, shred


def _lines(body):
    return {(line["group"], line["category"], line["age"]): line for line in body["lines"]}


def test_the_report_counts_who_is_held_and_how_old(client, clerk, auditor, database,
                                                    connection):
    card = enroll_and_approve(client, clerk)
    enroll(client, clerk, given_name="Wayra")
    r = client.get("/api/v1/retention/report", headers=auditor)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["policy"] == {"shred_after_expired_years": 2,
                              "purge_applications_after_days": 90,
                              "verification_retention_days": 30}
    lines = _lines(body)
    today = utcnow().date().isoformat()
    assert lines["residents", "card_in_use", "all"]["count"] == 1
    assert lines["residents", "card_in_use", "all"]["oldest"] == today
    assert lines["residents", "applicant_without_card", "all"]["count"] == 1
    assert lines["residents", "with_photo", "all"]["count"] == 2
    assert lines["residents", "shredded", "all"]["count"] == 0
    assert lines["applications", "approved", "0-29 days"]["count"] == 1
    assert lines["applications", "pending", "0-29 days"]["count"] == 1
    assert lines["applications", "pending", "365+ days"] == {
        "group": "applications", "category": "pending", "age": "365+ days", "count": 0,
        "oldest": None, "holds": lines["applications", "pending", "365+ days"]["holds"]}
    assert lines["applications", "document_checks", "all"]["count"] == 4
    assert "Amaru" not in r.text and "Wayra" not in r.text and card["card_number"] not in r.text

    shred(connection, database, resident_of(connection, card["card_number"]))
    after = _lines(client.get("/api/v1/retention/report", headers=auditor).json())
    assert after["residents", "card_in_use", "all"]["count"] == 0
    assert after["residents", "shredded", "all"]["count"] == 1
    assert after["residents", "shredded", "all"]["oldest"] == today
    assert after["applications", "document_checks", "all"]["count"] == 2


def test_only_auditors_and_admins_read_it_and_each_reading_is_audited(client, clerk, admin,
                                                                     auditor, connection):
    assert client.get("/api/v1/retention/report", headers=clerk).status_code == 403
    as_csv = client.get("/api/v1/retention/report", headers={**admin, "Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {"residents", "applications", "verification_events", "sessions"} <= {
        row["group"] for row in rows}
    assert client.get("/api/v1/retention/report", headers=auditor).status_code == 200
    with database_session(connection) as session:
        readings = session.exec(select(AuditEvent.actor_type).where(
            AuditEvent.action == "retention.report")).all()
    assert readings == ["staff", "staff"]  # the clerk's refusal wrote nothing


def test_due_for_shredding_follows_the_expiry_cutoff(client, clerk, database, connection):
    card = enroll_and_approve(client, clerk)
    expiry = date.fromisoformat(card["expires_at"])
    anniversary = years_before(expiry, -2)  # two years after the expiry date

    def due(today):
        with database_session(connection) as session:
            report = build_report(session, now=utcnow(), today=today, shred_after_years=2,
                                  purge_after_days=90, verification_retention_days=30)
        return {line.category: line.count for line in report.lines
                if line.group == "residents"}

    assert due(anniversary)["due_for_shredding"] == 0
    assert due(anniversary)["card_ended"] == 1
    assert due(anniversary + timedelta(days=1))["due_for_shredding"] == 1
    shred(connection, database, resident_of(connection, card["card_number"]),
           ShredReason.EXPIRED)
    assert due(anniversary + timedelta(days=1))["due_for_shredding"] == 0
