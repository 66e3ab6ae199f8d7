"""Crypto-shredding one resident: nothing readable stays, the card verifies revoked, the
counts in the reports do not change, and a restore of an older backup is shredded again."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from idsvc.audit.service import events_for, verify_log
from idsvc.benefits.models import Redemption
from idsvc.cards.models import Card
from idsvc.crypto.pseudonym import card_reference
from idsvc.enrollment.models import Application, DocumentCheck
from idsvc.errors import Conflict, NotFound
from idsvc.residents.models import Resident, ResidentAccount
from idsvc.retention.ledger import export_ledger, reapply_ledger
from idsvc.retention.models import ShredRecord
from idsvc.retention.shredding import ShredReason
from idsvc.status.models import StatusEntry
from idsvc.verification.models import VerificationEvent
from tests.factories import applicant, card_qr, enroll, enroll_and_approve, partner_headers
from tests.pages import staff_login
from tests.retention.helpers import database_session, resident_of, shred

PIN = "482916"
REPORTS = ("cards-issued", "redemptions", "verifications")


def _verify(client, headers, **card):
    r = client.post("/api/v1/verify", json=card, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _museum_redeems(client, admin, number):
    partner = client.post("/api/v1/partners", json={"name": "Museum", "kind": "cultural"},
                          headers=admin).json()
    key = client.post(f"/api/v1/partners/{partner['id']}/keys", headers=admin).json()
    museum = {"Authorization": f"Bearer {key['api_key']}"}
    benefit = client.post(f"/api/v1/partners/{partner['id']}/benefits",
                          json={"name": "Free membership"}, headers=admin).json()

    def redeem():
        return client.post("/api/v1/redemptions", json={"benefit_id": benefit["id"],
                                                        "card_number": number},
                           headers={**museum, "Idempotency-Key": uuid.uuid4().hex})
    assert redeem().status_code == 201
    return redeem


def _resident_login(client, clerk, number):
    code = client.post(f"/api/v1/cards/{number}/activation-code", headers=clerk).json()["code"]
    client.post("/api/v1/residents/activate",
                json={"card_number": number, "code": code, "secret": PIN})
    r = client.post("/api/v1/residents/login", json={"card_number": number, "secret": PIN})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_shredding_leaves_nothing_readable_and_the_card_verifies_revoked(
        client, clerk, admin, auditor, database, connection):
    card = enroll_and_approve(client, clerk)
    number = card["card_number"]
    qr = card_qr(client, clerk, number)
    police = partner_headers(client, admin)
    assert _verify(client, police, qr=qr)["result"] == "valid"
    redeem = _museum_redeems(client, admin, number)
    resident = _resident_login(client, clerk, number)
    before = {name: client.get(f"/api/v1/reports/{name}", headers=auditor).json()
              for name in REPORTS}
    resident_id = resident_of(connection, number)
    ref = card_reference(database.master_key.pseudonym_key, number)
    with database_session(connection) as session:
        assert session.exec(select(VerificationEvent).where(
            VerificationEvent.card_ref == ref)).all()
        assert len(session.exec(select(Redemption).where(Redemption.card_ref == ref)).all()) == 1

    done = shred(connection, database, resident_id)
    assert (done.cards, done.cards_revoked, done.applications_deleted) == (1, 1, 0)

    # Nobody can read the record any more: staff, the resident, nor the database.
    for path in (f"/api/v1/cards/{number}", f"/api/v1/cards/{number}/qr",
                 f"/api/v1/applications/{card['application_id']}"):
        r = client.get(path, headers=clerk)
        assert r.status_code == 404 and r.json()["error"] == "personal_data_destroyed", path
    assert client.get("/api/v1/me/card", headers=resident).status_code == 401
    assert client.post("/api/v1/residents/login",
                       json={"card_number": number, "secret": PIN}).status_code == 401
    with database_session(connection) as session:
        row = session.get(Resident, resident_id)
        assert (row.wrapped_key, row.personal_data, row.photo, row.match_key) == (
            b"", b"", None, "")
        assert session.exec(select(Card.credential).where(Card.number == number)).one() == b""
        assert session.get(ResidentAccount, resident_id) is None
        assert session.exec(select(DocumentCheck).where(
            DocumentCheck.application_id == card["application_id"])).all() == []
        assert session.get(Application, card["application_id"]).decision_note is None
        assert session.exec(select(VerificationEvent).where(
            VerificationEvent.card_ref == ref)).all() == []
        assert session.exec(select(Redemption).where(Redemption.card_ref == ref)).all() == []
        assert session.get(ShredRecord, resident_id) is not None

    # The card verifies revoked and shows nothing; it redeems nothing.
    scanned = _verify(client, police, qr=qr)
    assert scanned["result"] == "revoked" and "card" not in scanned
    assert _verify(client, police, card_number=number)["result"] == "revoked"
    assert redeem().status_code == 422

    # The counts stay; the shred is audited, naming nobody; the chain holds.
    assert {name: client.get(f"/api/v1/reports/{name}", headers=auditor).json()
            for name in REPORTS} == before
    with database_session(connection) as session:
        event = events_for(session, subject_type="resident", subject_id=resident_id)[-1]
        assert event.action == "resident.shred"
        assert "Amaru" not in event.details and "erasure_request" in event.details
        assert verify_log(session).ok


def test_a_shredded_person_is_no_duplicate_of_a_new_applicant(client, clerk, database,
                                                             connection):
    card = enroll_and_approve(client, clerk)
    again = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    assert again["possible_duplicate"] is not None
    shred(connection, database, resident_of(connection, card["card_number"]))
    with database_session(connection) as session:
        applicant_id = session.get(Application, again["id"]).resident_id
    shred(connection, database, applicant_id, ShredReason.APPLICATION_PURGED)
    fresh = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    assert fresh["possible_duplicate"] is None


def test_shredding_an_applicant_removes_the_application(client, clerk, database, connection):
    application = enroll(client, clerk)
    with database_session(connection) as session:
        resident_id = session.get(Application, application["id"]).resident_id
    done = shred(connection, database, resident_id, ShredReason.APPLICATION_PURGED)
    assert (done.cards, done.applications_deleted) == (0, 1)
    r = client.get(f"/api/v1/applications/{application['id']}", headers=clerk)
    assert r.status_code == 404 and r.json()["error"] == "application_not_found"


def test_twice_or_nobody_is_refused(client, clerk, database, connection):
    card = enroll_and_approve(client, clerk)
    resident_id = resident_of(connection, card["card_number"])
    shred(connection, database, resident_id)
    with pytest.raises(Conflict):
        shred(connection, database, resident_id)
    with pytest.raises(NotFound):
        shred(connection, database, uuid.uuid4().hex)


def test_a_restored_older_backup_is_shredded_again_from_the_ledger(client, clerk, database,
                                                                  connection):
    card = enroll_and_approve(client, clerk)
    number = card["card_number"]
    resident_id = resident_of(connection, number)
    with database_session(connection) as session:  # what a backup taken now holds
        kept = session.get(Resident, resident_id).model_dump()
        kept_card = session.exec(select(Card).where(Card.number == number)).one().model_dump()
    shred(connection, database, resident_id)
    with database_session(connection) as session:
        entries = export_ledger(session)
        assert [(e.resident_id, e.shredded_on) for e in entries] == [
            (resident_id, session.get(ShredRecord, resident_id).shredded_on)]

    with database_session(connection) as session:  # the backup is restored
        session.add(session.get(Resident, resident_id).sqlmodel_update(kept))
        session.add(session.exec(select(Card).where(Card.number == number)).one()
                    .sqlmodel_update(kept_card))
        session.delete(session.get(ShredRecord, resident_id))
    assert client.get(f"/api/v1/cards/{number}", headers=clerk).status_code == 200

    with database_session(connection) as session:
        assert reapply_ledger(session, entries, keys=database.master_key) == 1
    r = client.get(f"/api/v1/cards/{number}", headers=clerk)
    assert r.status_code == 404 and r.json()["error"] == "personal_data_destroyed"
    with database_session(connection) as session:
        card_row = session.exec(select(Card).where(Card.number == number)).one()
        assert card_row.state == "revoked" and card_row.credential == b""
        slot = session.get(StatusEntry, (card_row.status_list_id, card_row.status_idx))
        assert slot.status == 1
        assert session.get(ShredRecord, resident_id) is not None
        assert reapply_ledger(session, entries, keys=database.master_key) == 0
        assert events_for(session, subject_type="shred_ledger", subject_id="reapply")


def test_the_clerks_day_list_leaves_out_a_shredded_application(client, clerk, database,
                                                              connection):
    shredded = enroll_and_approve(client, clerk, given_name="Wayra")
    kept = enroll(client, clerk)
    shred(connection, database, resident_of(connection, shredded["card_number"]))
    staff_login(client, "clerk")
    page = client.get("/clerk/")
    assert page.status_code == 200
    assert f"/clerk/applications/{kept['id']}/review" in page.text
    assert shredded["application_id"] not in page.text
