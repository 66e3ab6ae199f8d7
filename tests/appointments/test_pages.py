"""The appointment pages: book, wait and manage by code without an account; the clerk's day.

They go through the same rules as the API (tests/appointments/test_booking.py), so these
tests check what the pages add: the forms, refusals shown in them, the code kept out of
URLs, the shared address budget, and who sees the day's names.
"""

from __future__ import annotations

import logging
import re

from fastapi.testclient import TestClient
from sqlalchemy import text

from idsvc.app import create_app
from idsvc.appointments import codes
from idsvc.db import make_sessionmaker
from tests.appointments.conftest import API, open_one_day, person, tomorrow
from tests.pages import post_form, staff_login

CODE = re.compile(r'id="confirmation-code">([A-Z0-9-]+)<')
BOOKING_FIELDS = {"csrf_token", "day", "slot_id", "name", "email", "phone", "language",
                  "waitlist_until"}


def centre_path(database) -> str:
    return f"/appointments/centres/{database.centre_id}"


def book(client, database, slot_id: int, **fields):
    data = {"slot_id": slot_id, "name": "Amaru", "email": "amaru@example.org",
            "language": "spa", **fields}
    return post_form(client, centre_path(database), data)


def code_of(response) -> str:
    match = CODE.search(response.text)
    assert match, response.text
    return match.group(1)


def look_up(client, code: str) -> dict:
    return client.post(f"{API}/appointments/lookup", json={"code": code}).json()


def look_up_in(connection, code: str) -> int:
    """The slot of a code, read from the database (the API's budget is spent)."""
    return connection.execute(text("SELECT slot_id FROM appointments WHERE code_hash = :h"),
                              {"h": codes.code_hash(code)}).scalar_one()


def fill(client, slots) -> None:
    for n, slot in enumerate(slots):
        r = client.post(f"{API}/appointments",
                        json=person(slot_id=slot["id"], email=f"filler{n}@example.org"))
        assert r.json()["appointment"]["status"] == "booked"


def form_fields(html: str, action: str) -> set[str]:
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html,
                     re.S)
    assert form, action
    return set(re.findall(r'name="([^"]+)"', form.group(0)))


def test_the_centres_and_a_day_show_free_times_and_ask_nothing_else(client, database, slots):
    listing = client.get("/appointments")
    assert listing.status_code == 200
    assert "Central" in listing.text and "100 Main Street" in listing.text
    assert "English, Español" in listing.text
    day = tomorrow().isoformat()
    assert f'href="{centre_path(database)}?day={day}"' in listing.text
    assert 'href="/appointments"' in client.get("/").text  # linked from the home page

    page = client.get(centre_path(database), params={"day": day})
    assert page.status_code == 200
    assert page.text.count('name="slot_id"') == 4
    assert form_fields(page.text, centre_path(database)) == BOOKING_FIELDS
    assert '<option value="spa"' in page.text and '<option value="kor"' not in page.text
    # With no day in the query, the first day with a free seat.
    assert client.get(centre_path(database)).text.count('name="slot_id"') == 4


def test_booking_on_the_page_shows_the_code_once(client, database, slots):
    r = book(client, database, slots[1]["id"], phone="+1 555 010 2030")
    assert r.status_code == 200, r.text
    code = code_of(r)
    assert r.text.count(code) == 1 and "Write it down" in r.text
    assert "Your appointment is booked" in r.text and "Amaru" in r.text
    booked = look_up(client, code)
    assert booked["status"] == "booked"
    assert booked["starts_at"].startswith(slots[1]["starts_at"][:16])
    page = client.get(centre_path(database), params={"day": tomorrow().isoformat()})
    assert page.text.count('name="slot_id"') == 3


def test_a_slot_filled_meanwhile_gives_a_waitlist_place(client, database, slots):
    fill(client, slots)
    r = book(client, database, slots[0]["id"])
    assert r.status_code == 200, r.text
    assert "You are on the waitlist" in r.text
    assert re.search(r'id="waitlist-position">1<', r.text)
    assert look_up(client, code_of(r))["position"] == 1


def test_booking_refusals_are_shown_in_the_form(client, database, slots):
    r = book(client, database, slots[0]["id"], nationality="x")
    assert r.status_code == 422 and 'data-error="unknown_fields"' in r.text
    assert "nationality" in r.text
    r = book(client, database, slots[0]["id"], name="", email="not an email")
    assert r.status_code == 422 and 'id="e-name"' in r.text and 'id="e-email"' in r.text
    assert 'value="not an email"' in r.text  # kept to fix, never stored
    r = book(client, database, slots[0]["id"], language="kor")
    assert r.status_code == 422 and 'data-error="language_not_offered"' in r.text
    r = book(client, database, 2**31 - 1)
    assert r.status_code == 404 and 'data-error="slot_not_found"' in r.text
    for n in range(2):  # two bookings per contact, then the third is refused
        assert book(client, database, slots[n]["id"]).status_code == 200
    r = book(client, database, slots[2]["id"], email="AMARU@example.org")
    assert r.status_code == 409 and 'data-error="too_many_bookings"' in r.text
    free = client.get(f"{API}/appointments/centres/{database.centre_id}/slots",
                      params={"day": tomorrow().isoformat()}).json()
    assert [s["id"] for s in free] == [slots[2]["id"], slots[3]["id"]]  # nothing else taken


def test_the_waitlist_page(client, database, slots):
    form = client.get("/appointments/waitlist", params={"centre": database.centre_id})
    assert form.status_code == 200
    assert f'<option value="{database.centre_id}" selected' in form.text
    assert form_fields(form.text, "/appointments/waitlist") == {
        "csrf_token", "name", "email", "phone", "language", "centre_id", "from_date",
        "until_date"}
    fill(client, slots)
    day = tomorrow()
    wanted = {"name": "Wen", "language": "eng", "centre_id": "",
              "from_date": day.isoformat(), "until_date": day.isoformat()}
    first = post_form(client, "/appointments/waitlist", {**wanted, "email": "w1@example.org"})
    assert first.status_code == 200, first.text
    assert "You are on the waitlist" in first.text
    assert re.search(r'id="waitlist-position">1<', first.text)
    second = post_form(client, "/appointments/waitlist", {**wanted, "phone": "+1 555 010 9999",
                                                          "centre_id": database.centre_id})
    assert re.search(r'id="waitlist-position">2<', second.text)
    again = post_form(client, "/appointments/waitlist", {**wanted, "email": "w1@example.org"})
    assert again.status_code == 409 and 'data-error="already_waiting"' in again.text
    r = post_form(client, "/appointments/waitlist",
                  {**wanted, "from_date": "2030-02-02", "until_date": "2030-01-01"})
    assert r.status_code == 422 and 'id="e-until_date"' in r.text
    r = post_form(client, "/appointments/waitlist", {**wanted, "language": "kor"})
    assert r.status_code == 422 and 'data-error="language_not_offered"' in r.text
    r = post_form(client, "/appointments/waitlist", {**wanted, "ssn": "1"})
    assert r.status_code == 422 and 'data-error="unknown_fields"' in r.text


def test_manage_look_up_move_and_cancel(client, database, slots):
    code = code_of(book(client, database, slots[0]["id"]))
    assert client.get("/appointments/manage").status_code == 200
    shown = post_form(client, "/appointments/manage", {"code": code})
    assert shown.status_code == 200 and "Amaru" in shown.text
    when = f"{database.centre_id}/{tomorrow().isoformat()}"
    assert f'<option value="{when}"' in shown.text
    times = post_form(client, "/appointments/manage", {"code": code, "when": when})
    assert times.text.count('name="slot_id"') == 3  # the other free times

    moved = post_form(client, "/appointments/manage/move",
                      {"code": code, "slot_id": slots[2]["id"]})
    assert moved.status_code == 200 and "moved to the new time" in moved.text
    assert look_up(client, code)["starts_at"].startswith(slots[2]["starts_at"][:16])

    cancelled = post_form(client, "/appointments/manage/cancel", {"code": code})
    assert cancelled.status_code == 200 and "is cancelled" in cancelled.text
    assert "Amaru" not in cancelled.text  # wiped
    assert look_up(client, code)["status"] == "cancelled"
    again = post_form(client, "/appointments/manage/cancel", {"code": code})
    assert again.status_code == 409 and 'data-error="not_active"' in again.text


def test_manage_refusals(client, database, slots):
    unknown = "ABCDE-FGHJK-LMNPQ-RSTUV"
    for path, data in (("/appointments/manage", {"code": unknown}),
                       ("/appointments/manage/move", {"code": unknown,
                                                      "slot_id": slots[0]["id"]}),
                       ("/appointments/manage/cancel", {"code": unknown})):
        r = post_form(client, path, data)
        assert r.status_code == 404 and 'data-error="appointment_not_found"' in r.text, path
    r = post_form(client, "/appointments/manage", {"code": ""})
    assert r.status_code == 422 and 'id="e-code"' in r.text

    code = code_of(book(client, database, slots[0]["id"]))
    client.post(f"{API}/appointments", json=person(slot_id=slots[1]["id"],
                                                   email="other@example.org"))
    full = post_form(client, "/appointments/manage/move",
                     {"code": code, "slot_id": slots[1]["id"]})
    assert full.status_code == 409 and 'data-error="slot_full"' in full.text
    assert "Amaru" in full.text  # the appointment is shown again, unchanged
    r = post_form(client, "/appointments/manage/move", {"code": code, "slot_id": "soon"})
    assert r.status_code == 422 and "Choose a time from the list." in r.text
    r = post_form(client, "/appointments/manage", {"code": code, "nationality": "x"})
    assert r.status_code == 422 and 'data-error="unknown_fields"' in r.text
    assert "Amaru" not in r.text
    assert look_up(client, code)["starts_at"].startswith(slots[0]["starts_at"][:16])


def test_the_code_stays_out_of_urls_cookies_and_logs(client, database, slots, caplog):
    seen: list[str] = []

    def request_sent(request) -> None:
        seen.append(str(request.url))

    def answer(response) -> None:
        seen.extend(response.headers.get_list("location"))
        seen.extend(response.headers.get_list("set-cookie"))

    client.event_hooks = {"request": [request_sent], "response": [answer]}
    caplog.set_level(logging.DEBUG)
    code = code_of(book(client, database, slots[0]["id"]))
    when = f"{database.centre_id}/{tomorrow().isoformat()}"
    for path, data in (("/appointments/manage", {"code": code, "when": when}),
                       ("/appointments/manage/move", {"code": code,
                                                      "slot_id": slots[3]["id"]}),
                       ("/appointments/manage/cancel", {"code": code})):
        assert post_form(client, path, data).status_code == 200
    assert len(seen) >= 8 and all(code not in item for item in seen)
    assert code not in caplog.text and code.lower() not in caplog.text


def test_the_pages_share_the_api_budget_per_address(database, connection, admin):
    settings = database.settings.model_copy(
        update={"appointment_requests_per_address_per_hour": 4})
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    with TestClient(create_app(settings, master_key=database.master_key,
                               sessions=sessions)) as client:
        slots = open_one_day(client, admin, database.centre_id)  # staff routes: not charged
        code = code_of(book(client, database, slots[0]["id"]))
        assert post_form(client, "/appointments/manage", {"code": code}).status_code == 200
        assert client.post(f"{API}/appointments/lookup", json={"code": code}).status_code == 200
        assert post_form(client, "/appointments/manage", {"code": code}).status_code == 200
        over = post_form(client, "/appointments/manage/move",
                         {"code": code, "slot_id": slots[1]["id"]})
        assert over.status_code == 429 and 'data-error="rate_limited"' in over.text
        assert int(over.headers["Retry-After"]) > 0
        assert "Amaru" not in over.text  # refused before any look-up
        assert client.post(f"{API}/appointments/lookup", json={"code": code}).status_code == 429
        assert client.get("/appointments").status_code == 200  # counts: free to read
    assert look_up_in(connection, code) == slots[0]["id"]  # not moved


def test_the_clerk_sees_the_days_bookings_of_their_own_centre_only(client, database, admin,
                                                                  connection, slots):
    book(client, database, slots[1]["id"], name="Nadia Haddad", phone="+1 555 010 4242")
    day = tomorrow().isoformat()
    anonymous = client.get("/clerk/appointments", params={"day": day},
                           follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/staff/login?next=")

    staff_login(client, "clerk")
    assert 'href="/clerk/appointments"' in client.get("/clerk/").text
    page = client.get("/clerk/appointments", params={"day": day})
    assert page.status_code == 200
    assert "Nadia Haddad" in page.text and "+1 555 010 4242" in page.text
    assert "Español" in page.text
    assert connection.execute(text(
        "SELECT count(*) FROM audit_events WHERE action = 'appointment.list'")).scalar() == 1

    other = client.post(f"{API}/centres", headers=admin, json={
        "code": "EAST", "name": "East", "address": "9 East Road"}).json()
    assert client.post(f"{API}/staff", headers=admin, json={
        "username": "eastclerk", "password": "east clerk password", "role": "clerk",
        "centre_id": other["id"]}).status_code == 201
    client.cookies.clear()
    staff_login(client, "eastclerk", "east clerk password")
    elsewhere = client.get("/clerk/appointments", params={"day": day})
    assert elsewhere.status_code == 200 and "Nadia Haddad" not in elsewhere.text
    assert "No appointments are booked" in elsewhere.text
