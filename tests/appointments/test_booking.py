"""Booking without an account: book, look up, move, cancel; full slots and the waitlist."""

from __future__ import annotations

from sqlalchemy import text

from tests.appointments.conftest import API, person


def book(client, slot_id: int, **fields):
    return client.post(f"{API}/appointments", json=person(slot_id=slot_id, **fields))


def test_book_look_up_move_and_cancel(client, slots):
    assert len(slots) == 4 and all(s["free"] == 1 for s in slots)
    r = book(client, slots[0]["id"])
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    booked = r.json()["appointment"]
    assert booked["status"] == "booked" and booked["name"] == "Amaru"
    assert booked["starts_at"].startswith(slots[0]["starts_at"][:16])
    assert booked["centre"]["code"] == "CENTRAL" and booked["position"] is None

    seen = client.post(f"{API}/appointments/lookup", json={"code": code.lower()})
    assert seen.status_code == 200 and seen.json() == booked

    moved = client.post(f"{API}/appointments/move", json={"code": code,
                                                          "slot_id": slots[2]["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_at"].startswith(slots[2]["starts_at"][:16])
    free = {s["id"]: s["free"] for s in client.get(
        f"{API}/appointments/centres/{booked['centre']['id']}/slots",
        params={"day": slots[0]["starts_at"][:10]}).json()}
    assert slots[0]["id"] in free and slots[2]["id"] not in free

    cancelled = client.post(f"{API}/appointments/cancel", json={"code": code})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["name"] is None
    again = client.post(f"{API}/appointments/cancel", json={"code": code})
    assert again.status_code == 409 and again.json()["error"] == "not_active"


def test_a_full_slot_queues_and_a_cancellation_goes_to_the_first_in_line(client, slots):
    only = slots[:1]
    first = book(client, only[0]["id"], email="first@example.org").json()
    assert first["appointment"]["status"] == "booked"
    # Fill the other three seats so the queue has nowhere else to go.
    for n, slot in enumerate(slots[1:]):
        assert book(client, slot["id"], email=f"other{n}@example.org").status_code == 201
    second = book(client, only[0]["id"], email="second@example.org").json()
    third = book(client, only[0]["id"], email="third@example.org").json()
    assert second["appointment"]["status"] == "waiting"
    assert (second["appointment"]["position"], third["appointment"]["position"]) == (1, 2)

    client.post(f"{API}/appointments/cancel", json={"code": first["code"]})
    now = client.post(f"{API}/appointments/lookup", json={"code": second["code"]}).json()
    assert now["status"] == "booked"
    assert now["starts_at"].startswith(only[0]["starts_at"][:16])
    later = client.post(f"{API}/appointments/lookup", json={"code": third["code"]}).json()
    assert later["status"] == "waiting" and later["position"] == 1


def test_moving_to_a_full_slot_is_refused(client, slots):
    a = book(client, slots[0]["id"], email="a@example.org").json()
    book(client, slots[1]["id"], email="b@example.org")
    r = client.post(f"{API}/appointments/move", json={"code": a["code"],
                                                      "slot_id": slots[1]["id"]})
    assert r.status_code == 409 and r.json()["error"] == "slot_full"


def test_requests_are_checked(client, slots):
    r = book(client, slots[0]["id"], nationality="x")
    assert r.status_code == 422 and r.json()["error"] == "unknown_field"
    r = book(client, slots[0]["id"], language="kor")
    assert r.status_code == 422 and r.json()["error"] == "language_not_offered"
    r = book(client, slots[0]["id"], language="xxx")
    assert r.status_code == 422
    r = book(client, 2**31 - 1)
    assert r.status_code == 404 and r.json()["error"] == "slot_not_found"
    r = client.post(f"{API}/appointments/lookup", json={"code": "ABCDE-FGHJK-LMNPQ-RSTUV"})
    assert r.status_code == 404 and r.json()["error"] == "appointment_not_found"


def test_at_most_two_bookings_and_one_waitlist_place_per_contact(client, slots):
    for slot in slots[:2]:
        assert book(client, slot["id"], email="Same@Example.org").status_code == 201
    r = book(client, slots[2]["id"], email="same@example.org ")
    assert r.status_code in (409, 422)
    r = book(client, slots[2]["id"], email="same@example.org")
    assert r.status_code == 409 and r.json()["error"] == "too_many_bookings"
    # The phone is a contact of its own.
    assert book(client, slots[2]["id"], email=None, phone="+1 555 010 2030").status_code == 201
    assert book(client, slots[3]["id"], email=None, phone="+1 555 010 2031").status_code == 201
    waiting = book(client, slots[3]["id"], email=None, phone="+1 (555) 010-2030")
    assert waiting.status_code == 201 and waiting.json()["appointment"]["status"] == "waiting"
    r = book(client, slots[3]["id"], email=None, phone="15550102030")
    assert r.status_code == 409 and r.json()["error"] == "already_waiting"


def test_name_and_contact_are_sealed(client, slots, connection):
    book(client, slots[0]["id"], name="Wiñay Quispe", email="winay@example.org")
    row = connection.execute(text("SELECT * FROM appointments")).mappings().one()
    dumped = repr(dict(row)).encode()
    assert b"Quispe" not in dumped and b"winay" not in dumped
