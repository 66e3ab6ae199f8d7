"""The clerk's path through the HTTP API, and every rule's refusal."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader

from idsvc.cards.credential import F_ADDRESS, decode
from tests.factories import applicant, enroll, enroll_and_approve, portrait, years_ago


def test_whole_clerk_path(client, clerk):
    policy = client.get("/api/v1/policy/documents", headers=clerk)
    assert policy.status_code == 200
    codes = {d["code"]: d for d in policy.json()}
    assert codes["passport"]["points"] == 3 and codes["utility_bill"]["category"] == "residency"

    created = client.post("/api/v1/applications", json=applicant(), headers=clerk)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert created.json()["status"] == "pending"
    assert {m["code"] for m in created.json()["missing"]} >= {"photo_required", "total_points"}

    for code in ("passport", "utility_bill"):
        r = client.post(f"/api/v1/applications/{app_id}/documents", json={"document_type": code},
                        headers=clerk)
        assert r.status_code == 201
    r = client.put(f"/api/v1/applications/{app_id}/photo",
                   files={"file": ("me.png", portrait("PNG"), "image/png")}, headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["missing"] == [] and r.json()["points"] == {"total": 4, "identity": 3,
                                                                 "residency": 1}

    approved = client.post(f"/api/v1/applications/{app_id}/approve", headers=clerk)
    assert approved.status_code == 201, approved.text
    card = approved.json()
    number = card["card_number"]
    assert len(number) == 12 and card["version"] == 1 and card["expires_at"]

    view = client.get(f"/api/v1/cards/{number}", headers=clerk)
    assert view.status_code == 200
    assert view.json()["full_name"] == "Amaru Quispe Mamani"
    assert view.json()["state"] == "active"

    front = client.get(f"/api/v1/cards/{number}/front.png", headers=clerk)
    back = client.get(f"/api/v1/cards/{number}/back.png", headers=clerk)
    for response in (front, back):
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).size == (1011, 638)
    pdf = client.get(f"/api/v1/cards/{number}/card.pdf", headers=clerk)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 2

    closed = client.get(f"/api/v1/applications/{app_id}", headers=clerk).json()
    assert closed["status"] == "approved" and closed["card_number"] == number


def _missing_codes(client, headers, application_id):
    r = client.post(f"/api/v1/applications/{application_id}/approve", headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "requirements_not_met"
    return {m["code"] for m in r.json()["missing"]}


@pytest.mark.parametrize(("documents", "missing"), [
    (("utility_bill",), {"identity_points", "total_points", "photo_document",
                         "birth_date_document"}),
    (("passport",), {"residency_points", "total_points"}),
    (("birth_certificate", "utility_bill", "lease"),
     {"identity_points", "photo_document"}),
    (("student_id", "employee_id", "utility_bill", "lease"),
     {"identity_points", "birth_date_document"}),
])
def test_document_rules_refuse_approval(client, clerk, documents, missing):
    application = enroll(client, clerk, documents=documents)
    assert _missing_codes(client, clerk, application["id"]) == missing


def test_no_photo_refused(client, clerk):
    created = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    for code in ("passport", "utility_bill"):
        client.post(f"/api/v1/applications/{created['id']}/documents",
                    json={"document_type": code}, headers=clerk)
    assert _missing_codes(client, clerk, created["id"]) == {"photo_required"}


def test_under_ten_refused(client, clerk):
    application = enroll(client, clerk, date_of_birth=years_ago(9).isoformat())
    assert "under_minimum_age" in _missing_codes(client, clerk, application["id"])


def test_minor_needs_caretaker_and_emergency_contact(client, clerk):
    application = enroll(client, clerk, date_of_birth=years_ago(12).isoformat(),
                         emergency_contact=None)
    assert _missing_codes(client, clerk, application["id"]) == {
        "caretaker_required", "emergency_contact_required"}


def test_minor_with_caretaker_gets_two_year_card(client, clerk):
    card = enroll_and_approve(
        client, clerk, date_of_birth=years_ago(11).isoformat(),
        caretaker={"name": "Lucia Quispe", "relationship": "mother",
                   "document_type": "passport"})
    issued = card["issued_at"][:4]
    assert int(card["expires_at"][:4]) - int(issued) == 2


def test_duplicate_is_flagged_and_refused(client, clerk, supervisor):
    enroll_and_approve(client, clerk)
    # Same person typed differently: accents, case, spacing, word order.
    second = enroll(client, clerk, given_name="AMARU", family_name="quispe  Mamani")
    assert second["possible_duplicate"]["card_numbers"]
    assert "possible_duplicate" in _missing_codes(client, clerk, second["id"])
    # A clerk may not override; a supervisor may, with a note.
    r = client.post(f"/api/v1/applications/{second['id']}/approve",
                    json={"override_duplicate": True, "note": "different person"},
                    headers=clerk)
    assert r.status_code == 403
    r = client.post(f"/api/v1/applications/{second['id']}/approve",
                    json={"override_duplicate": True, "note": "namesake, other mother"},
                    headers=supervisor)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("field", ["immigration_status", "citizenship", "nationality",
                                   "country_of_birth", "ssn", "social_security_number"])
def test_unknown_fields_refused_and_not_stored(client, clerk, field, connection):
    before = connection.exec_driver_sql("SELECT count(*) FROM residents").scalar()
    r = client.post("/api/v1/applications", json=applicant(**{field: "x"}), headers=clerk)
    assert r.status_code == 422
    assert r.json()["error"] == "unknown_field"
    assert field in r.json()["message"]
    assert '"x"' not in r.text  # the value is not echoed back
    assert connection.exec_driver_sql("SELECT count(*) FROM residents").scalar() == before


def test_unknown_nested_field_refused(client, clerk):
    body = applicant(address={"line1": "1 A St", "city": "Riverton", "postal_code": "10001",
                              "country_of_birth": "x"})
    r = client.post("/api/v1/applications", json=body, headers=clerk)
    assert r.status_code == 422 and r.json()["error"] == "unknown_field"


@pytest.mark.parametrize("payload", [b"not an image at all", b"", portrait()[:2000]])
def test_bad_photo_refused(client, clerk, payload):
    created = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    r = client.put(f"/api/v1/applications/{created['id']}/photo",
                   files={"file": ("x.jpg", payload, "image/jpeg")}, headers=clerk)
    assert r.status_code == 422
    assert r.json()["error"] in {"photo_unreadable", "photo_unsupported"}
    assert client.get(f"/api/v1/applications/{created['id']}", headers=clerk).json()[
        "has_photo"] is False


def test_gif_photo_refused(client, clerk):
    created = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    r = client.put(f"/api/v1/applications/{created['id']}/photo",
                   files={"file": ("x.gif", portrait("GIF"), "image/gif")}, headers=clerk)
    assert r.status_code == 422 and r.json()["error"] == "photo_unsupported"


def test_reject_with_reason_closes_application(client, clerk):
    application = enroll(client, clerk)
    r = client.post(f"/api/v1/applications/{application['id']}/reject",
                    json={"reason": "documents appear altered"}, headers=clerk)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    again = client.post(f"/api/v1/applications/{application['id']}/approve", headers=clerk)
    assert again.status_code == 409 and again.json()["error"] == "application_closed"


def test_unknown_document_type_refused(client, clerk):
    created = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    r = client.post(f"/api/v1/applications/{created['id']}/documents",
                    json={"document_type": "green_card"}, headers=clerk)
    assert r.status_code == 422 and r.json()["error"] == "unknown_document_type"


def test_same_document_twice_refused(client, clerk):
    created = client.post("/api/v1/applications", json=applicant(), headers=clerk).json()
    url = f"/api/v1/applications/{created['id']}/documents"
    assert client.post(url, json={"document_type": "passport"}, headers=clerk).status_code == 201
    again = client.post(url, json={"document_type": "passport"}, headers=clerk)
    assert again.status_code == 409


def test_care_of_address_stays_off_the_credential(client, clerk):
    card = enroll_and_approve(client, clerk, address={
        "kind": "care_of", "care_of": "Riverside Women's Shelter", "line1": "9 Safe Way",
        "city": "Riverton", "postal_code": "10002"})
    qr = client.get(f"/api/v1/cards/{card['card_number']}/qr", headers=clerk).json()["qr"]
    assert F_ADDRESS not in decode(qr).claim169


def test_names_in_many_scripts_are_issued_and_printed(client, clerk):
    for given, family in (("伟", "张"), ("محمد", "الأحمد"), ("Анна", "Иванова"),
                          ("রবীন্দ্রনাথ", "ঠাকুর"), ("Zoë", "Łukasiewicz-Núñez")):
        card = enroll_and_approve(client, clerk, given_name=given, family_name=family)
        view = client.get(f"/api/v1/cards/{card['card_number']}", headers=clerk).json()
        assert given in view["full_name"] and family in view["full_name"]
        front = client.get(f"/api/v1/cards/{card['card_number']}/front.png", headers=clerk)
        assert front.status_code == 200


def test_unprintable_name_blocks_approval_not_a_crash(client, clerk):
    application = enroll(client, clerk, given_name="Ana 😀")
    assert "text_not_printable" in _missing_codes(client, clerk, application["id"])


def test_refused_approval_changes_nothing(client, clerk, supervisor):
    enroll_and_approve(client, clerk)
    second = enroll(client, clerk, documents=("passport",))
    r = client.post(f"/api/v1/applications/{second['id']}/approve",
                    json={"override_duplicate": True, "note": "namesake"}, headers=supervisor)
    assert r.status_code == 422
    after = client.get(f"/api/v1/applications/{second['id']}", headers=clerk).json()
    assert after["status"] == "pending"
    assert "possible_duplicate" in {m["code"] for m in after["missing"]}  # override rolled back
