"""Every staff read or change is audited, and the chain exposes tampering."""

from __future__ import annotations

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from idsvc.audit.models import AuditEvent
from idsvc.audit.service import Actor, Entry, append_entries, record, verify_log
from tests.factories import enroll_and_approve


@pytest.fixture
def session(connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s


def _actions(session, since_id):
    rows = session.exec(select(AuditEvent).where(AuditEvent.id > since_id)
                        .order_by(AuditEvent.id)).all()
    return [(r.action, r.actor_type) for r in rows]


def test_enrollment_and_card_reads_are_audited(client, clerk, session):
    start = session.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first() or 0
    card = enroll_and_approve(client, clerk)
    client.get(f"/api/v1/cards/{card['card_number']}", headers=clerk)
    client.get(f"/api/v1/cards/{card['card_number']}/back.png", headers=clerk)
    actions = [a for a, _ in _actions(session, start)]
    for expected in ("application.create", "application.document", "application.photo",
                     "application.approve", "card.issue", "card.read", "card.print"):
        assert expected in actions
    assert all(actor == "staff" for _, actor in _actions(session, start))
    assert verify_log(session).ok


def test_audit_details_hold_no_personal_data(client, clerk, session):
    enroll_and_approve(client, clerk)
    details = " ".join(session.exec(select(AuditEvent.details)).all())
    for word in ("Amaru", "Quispe", "Hudson", "1988"):
        assert word not in details


def _tail_ids(session, n):
    return session.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(n)).all()


def test_changed_row_is_detected(client, clerk, session):
    enroll_and_approve(client, clerk)
    target = _tail_ids(session, 3)[-1]
    session.execute(text("UPDATE audit_events SET action = 'card.nothing' WHERE id = :id"),
                    {"id": target})
    report = verify_log(session)
    assert not report.ok and report.broken_at == target and "changed" in report.problem


def test_deleted_row_is_detected(client, clerk, session):
    enroll_and_approve(client, clerk)
    target = _tail_ids(session, 3)[-1]
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": target})
    report = verify_log(session)
    assert not report.ok and "link" in report.problem


def test_inserted_row_is_detected(client, clerk, session):
    enroll_and_approve(client, clerk)
    last = session.get(AuditEvent, _tail_ids(session, 1)[0])
    session.add(AuditEvent(at=last.at, actor_type="staff", actor_id=None, action="card.read",
                           subject_type="card", subject_id="x", details="{}",
                           prev_hash="f" * 64, hash="e" * 64))
    session.flush()
    assert not verify_log(session).ok


def test_entries_appended_together_chain_like_single_records(session):
    staff = Actor("staff", "s1")
    record(session, actor=staff, action="application.create", subject_type="application",
           subject_id="a1", details={"possible_duplicate": False})
    before = session.exec(select(func.max(AuditEvent.id))).one()
    append_entries(session, [
        Entry.of(staff, "application.photo", "application", "a1"),
        Entry.of(staff, "card.issue", "card", "c1", {"number": "123", "version": 1}),
    ])
    record(session, actor=staff, action="card.read", subject_type="card", subject_id="c1")
    rows = session.exec(select(AuditEvent).where(AuditEvent.id > before)
                        .order_by(AuditEvent.id)).all()
    assert [(r.action, r.subject_id, r.details) for r in rows] == [
        ("application.photo", "a1", "{}"),
        ("card.issue", "c1", '{"number":"123","version":1}'),
        ("card.read", "c1", "{}")]
    assert rows[0].at == rows[1].at  # stamped with the time of the append
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert verify_log(session).ok
