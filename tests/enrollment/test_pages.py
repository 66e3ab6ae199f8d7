"""The clerk's enrollment pages: the wizard from details to card, and the day list."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from PIL import Image
from sqlalchemy import func, select, update

from idsvc.audit.models import AuditEvent
from idsvc.clock import utcnow
from idsvc.enrollment.models import Application
from idsvc.staff.models import Staff
from tests.factories import applicant, enroll, portrait
from tests.pages import csrf, post_form, staff_login


def details(**overrides: str) -> dict[str, str]:
    """The details form as a clerk fills it for an adult."""
    form = {
        "given_name": "Amaru", "family_name": "Quispe Mamani", "name_order": "given_first",
        "date_of_birth": "1988-04-17", "gender": "X", "address_kind": "street",
        "address_line1": "41 Hudson Street", "address_line2": "Apt 3B",
        "address_city": "Riverton", "address_postal_code": "10013",
        "language_1": "spa", "language_2": "eng", "emergency_name": "Rosa Quispe",
        "emergency_relationship": "sister", "emergency_phone": "+1 555 010 2030",
        "organ_donor": "yes",
    }
    form.update(overrides)
    return form


def start_application(client, **overrides: str) -> str:
    response = post_form(client, "/clerk/applications/new", details(**overrides),
                         page="/clerk/applications/new")
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/clerk/applications/([0-9a-f]{32})/documents",
                         response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def save_documents(client, application_id: str, codes: tuple[str, ...], go: str = "stay"):
    page = f"/clerk/applications/{application_id}/documents"
    return client.post(page, data={"csrf_token": csrf(client, page), "document": list(codes),
                                   "go": go}, follow_redirects=False)


def upload(client, application_id: str, data: bytes, name: str = "me.jpg"):
    page = f"/clerk/applications/{application_id}/photo"
    return client.post(page, data={"csrf_token": csrf(client, page)},
                       files={"file": (name, data, "image/jpeg")}, follow_redirects=False)


def tally(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-tally="(\w+)"[^>]*>([^<]*)<', html))


def open_gaps(html: str) -> set[str]:
    return set(re.findall(r'<li data-gap="(\w+)">', html))


def count(connection, model: Any, *where: Any) -> int:
    return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_the_wizard_from_details_to_the_printed_card(client):
    staff_login(client, "clerk")
    new = client.get("/clerk/applications/new")
    assert new.status_code == 200 and 'aria-current="step"' in new.text
    application_id = start_application(client)

    documents = client.get(f"/clerk/applications/{application_id}/documents")
    assert "examined, not copied" in documents.text
    assert tally(documents.text)["total"] == "0"
    assert open_gaps(documents.text) == {"identity_points", "residency_points", "total_points",
                                         "photo_document", "birth_date_document"}
    saved = save_documents(client, application_id, ("passport",))
    assert saved.headers["location"].endswith("/documents?saved=1")
    page = client.get(saved.headers["location"]).text
    assert tally(page)["identity"] == "3" and tally(page)["residency"] == "0"
    assert tally(page)["photo"] == "present"
    assert open_gaps(page) == {"residency_points", "total_points"}
    onward = save_documents(client, application_id, ("passport", "utility_bill"), go="next")
    assert onward.headers["location"] == f"/clerk/applications/{application_id}/photo"
    page = client.get(f"/clerk/applications/{application_id}/documents").text
    assert tally(page)["total"] == "4" and open_gaps(page) == set()
    # Unticking a box removes that check: the server recounts.
    save_documents(client, application_id, ("utility_bill",))
    assert tally(client.get(f"/clerk/applications/{application_id}/documents").text)[
        "identity"] == "0"
    save_documents(client, application_id, ("passport", "utility_bill"))

    photo_page = client.get(f"/clerk/applications/{application_id}/photo")
    assert "No photo yet" in photo_page.text and "/review" not in photo_page.text.split(
        "wizard-buttons")[1]
    uploaded = upload(client, application_id, portrait())
    assert uploaded.status_code == 303
    processed = client.get(f"/clerk/applications/{application_id}/photo.jpg")
    assert processed.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(processed.content)).size == (600, 800)  # the 3:4 crop

    review = client.get(f"/clerk/applications/{application_id}/review")
    assert "Amaru Quispe Mamani" in review.text and "Passport (any country)" in review.text
    assert "cannot be approved yet" not in review.text
    assert re.search(r'<button type="submit" class="primary">\s*Approve', review.text)
    approved = post_form(client, f"/clerk/applications/{application_id}/approve",
                         page=f"/clerk/applications/{application_id}/review")
    assert approved.status_code == 303
    card_page = client.get(approved.headers["location"])
    number = approved.headers["location"].rsplit("/", 1)[1]
    assert card_page.status_code == 200 and f"Card {number}" in card_page.text
    assert f"/api/v1/cards/{number}/card.pdf" in card_page.text
    # A decided application has no steps left to change.
    assert client.get(f"/clerk/applications/{application_id}/documents",
                      follow_redirects=False).headers["location"].endswith("/review")


def test_validation_errors_re_render_the_step_next_to_their_fields(client, connection):
    staff_login(client, "clerk")
    before = count(connection, Application)
    response = post_form(client, "/clerk/applications/new",
                         details(given_name="", address_postal_code="$$",
                                 date_of_birth="1988-13-45", emergency_phone="call me"),
                         page="/clerk/applications/new")
    assert response.status_code == 422
    for field in ("given_name", "address_postal_code", "date_of_birth", "emergency_phone"):
        assert re.search(rf'id="f-{field}"[^>]*aria-describedby="[^"]*e-{field}"[^>]*'
                         r'aria-invalid="true"', response.text), field
        assert f'id="e-{field}"' in response.text
    assert 'role="alert"' in response.text
    assert 'value="41 Hudson Street"' in response.text  # what was typed stays in the form
    assert count(connection, Application) == before


def test_a_care_of_address_needs_the_shelter_named(client):
    staff_login(client, "clerk")
    response = post_form(client, "/clerk/applications/new",
                         details(address_kind="care_of"), page="/clerk/applications/new")
    assert response.status_code == 422 and 'id="e-address_care_of"' in response.text
    application_id = start_application(client, address_kind="care_of",
                                       address_care_of="Harbor Shelter")
    review = client.get(f"/clerk/applications/{application_id}/review").text
    assert "Care of Harbor Shelter" in review and "never printed" in review


def test_a_forbidden_field_is_refused_and_nothing_is_stored(client, connection):
    """Decision: a post with a field the form does not have is refused (422), like the API."""
    staff_login(client, "clerk")
    before = count(connection, Application)
    response = post_form(client, "/clerk/applications/new",
                         details(nationality="Peruvian", immigration_status="none"),
                         page="/clerk/applications/new")
    assert response.status_code == 422
    assert "immigration_status, nationality" in response.text
    assert "Peruvian" not in response.text
    assert count(connection, Application) == before
    application_id = start_application(client)
    changed = post_form(client, f"/clerk/applications/{application_id}/details",
                        details(country_of_birth="Peru"),
                        page=f"/clerk/applications/{application_id}/details")
    assert changed.status_code == 422
    documents_page = f"/clerk/applications/{application_id}/documents"
    sneaky = client.post(documents_page, data={"csrf_token": csrf(client, documents_page),
                                               "document": "passport", "ssn": "123"},
                         follow_redirects=False)
    assert sneaky.status_code == 422
    assert tally(client.get(documents_page).text)["total"] == "0"


def test_going_back_shows_and_changes_the_saved_details(client):
    staff_login(client, "clerk")
    application_id = start_application(client)
    page = f"/clerk/applications/{application_id}/details"
    form = client.get(page).text
    assert 'value="Quispe Mamani"' in form and '<option value="spa" selected>' in form
    changed = post_form(client, page, details(middle_name="Inti", organ_donor=""), page=page)
    assert changed.status_code == 303
    review = client.get(f"/clerk/applications/{application_id}/review").text
    assert "Amaru Inti Quispe Mamani" in review


def test_a_child_needs_a_caretaker_before_approval(client):
    staff_login(client, "clerk")
    birthday = (utcnow().date() - timedelta(days=365 * 12)).isoformat()
    application_id = start_application(client, date_of_birth=birthday, emergency_name="",
                                       emergency_relationship="", emergency_phone="")
    review = client.get(f"/clerk/applications/{application_id}/review").text
    assert "enroll with a caretaker" in review and "must give an emergency contact" in review
    assert re.search(r"<button[^>]*disabled[^>]*>\s*Approve", review)
    page = f"/clerk/applications/{application_id}/details"
    post_form(client, page, details(date_of_birth=birthday, caretaker_name="Rosa Quispe",
                                    caretaker_relationship="aunt",
                                    caretaker_document_type="passport"), page=page)
    review = client.get(f"/clerk/applications/{application_id}/review").text
    assert "caretaker" not in review.split("Decision")[1]


def test_a_refused_photo_says_why(client):
    staff_login(client, "clerk")
    application_id = start_application(client)
    small = upload(client, application_id, portrait(size=(200, 260)))
    assert small.status_code == 422 and "too small" in small.text
    assert 'id="photo-error"' in small.text
    junk = upload(client, application_id, b"not an image", name="me.gif")
    assert junk.status_code == 422 and "JPEG, PNG or WebP" in junk.text
    page = f"/clerk/applications/{application_id}/photo"
    nothing = client.post(page, data={"csrf_token": csrf(client, page)},
                          follow_redirects=False)
    assert nothing.status_code == 422 and "Choose a photo file" in nothing.text


def test_duplicate_warning_and_supervisor_override(client, clerk):
    enroll(client, clerk)  # the same person already applied (API)
    staff_login(client, "clerk")
    application_id = start_application(client)
    save_documents(client, application_id, ("passport", "utility_bill"))
    upload(client, application_id, portrait())
    review_page = f"/clerk/applications/{application_id}/review"
    review = client.get(review_page).text
    assert "Possible duplicate" in review and "Ask: supervisor." in review
    assert re.search(r"<button[^>]*disabled[^>]*>\s*Approve", review)
    forced = post_form(client, f"/clerk/applications/{application_id}/approve",
                       {"override_duplicate": "yes", "note": "I checked"}, page=review_page)
    assert forced.status_code == 403 and "Only a supervisor" in forced.text

    staff_login(client, "supervisor")
    review = client.get(review_page).text
    assert 'name="override_duplicate"' in review
    no_note = post_form(client, f"/clerk/applications/{application_id}/approve",
                        {"override_duplicate": "yes"}, page=review_page)
    assert no_note.status_code == 422 and "Say why" in no_note.text
    approved = post_form(client, f"/clerk/applications/{application_id}/approve",
                         {"override_duplicate": "yes", "note": "Different mother's name"},
                         page=review_page)
    assert approved.status_code == 303 and approved.headers["location"].startswith(
        "/clerk/cards/")


def test_reject_with_a_reason(client):
    staff_login(client, "clerk")
    application_id = start_application(client)
    review_page = f"/clerk/applications/{application_id}/review"
    empty = post_form(client, f"/clerk/applications/{application_id}/reject", {"reason": ""},
                      page=review_page)
    assert empty.status_code == 422 and "Give the reason" in empty.text
    rejected = post_form(client, f"/clerk/applications/{application_id}/reject",
                         {"reason": "Applicant withdrew"}, page=review_page)
    assert rejected.status_code == 303
    assert "was rejected" in client.get(review_page).text


def test_the_dashboard_lists_only_today_at_the_clerks_centre(client, clerk, admin,
                                                             connection):
    today = enroll(client, clerk)
    old = enroll(client, clerk, given_name="Wayra")
    other_centre = client.post("/api/v1/centres", headers=admin,
                               json={"code": "NORTH", "name": "North", "address": "1 North St"})
    assert other_centre.status_code == 201, other_centre.text
    elsewhere = client.post("/api/v1/applications", headers=clerk,
                            json={**applicant(given_name="Killa"),
                                  "centre_id": other_centre.json()["id"]}).json()
    connection.execute(update(Application).where(Application.id == old["id"])
                       .values(created_at=utcnow() - timedelta(days=2)))
    staff_login(client, "clerk")
    events = count(connection, AuditEvent, AuditEvent.action == "application.list")
    page = client.get("/clerk/")
    assert page.status_code == 200
    assert f"/clerk/applications/{today['id']}/review" in page.text
    assert "Nothing: ready to approve" in page.text
    assert old["id"] not in page.text and elsewhere["id"] not in page.text
    assert "Amaru" not in page.text  # the day list names no one
    assert count(connection, AuditEvent, AuditEvent.action == "application.list") == events + 1


def test_a_clerk_without_a_centre_sees_a_message(client, connection):
    connection.execute(update(Staff).where(Staff.username == "clerk").values(centre_id=None))
    staff_login(client, "clerk")
    page = client.get("/clerk/")
    assert page.status_code == 200 and "not assigned to a service centre" in page.text
    assert "<table" not in page.text


def test_who_may_open_the_clerk_pages(client):
    anonymous = client.get("/clerk/applications/new", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/staff/login?next=%2Fclerk%2Fapplications%2Fnew"
    staff_login(client, "auditor")
    assert client.get("/clerk/").status_code == 403
    assert client.get("/clerk/applications/new").status_code == 403


def test_forms_without_the_csrf_token_are_refused(client, connection):
    staff_login(client, "clerk")
    before = count(connection, Application)
    forged = client.post("/clerk/applications/new", data=details(), follow_redirects=False)
    assert forged.status_code == 403
    assert count(connection, Application) == before
