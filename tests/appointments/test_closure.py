"""A closure moves the closed days' bookings to the front of the waitlist, with an email."""

from __future__ import annotations

from tests.appointments.conftest import API, person, tomorrow


def test_closure_moves_bookings_to_the_front_of_the_waitlist(client, admin, database, slots,
                                                             outbox):
    codes = []
    for n, slot in enumerate(slots):
        r = client.post(f"{API}/appointments", json=person(
            slot_id=slot["id"], email=f"p{n}@example.org"))
        codes.append(r.json()["code"])
    early = client.post(f"{API}/appointments", json=person(
        slot_id=slots[0]["id"], email="early@example.org")).json()
    assert early["appointment"]["position"] == 1
    outbox.drain()

    day = tomorrow().isoformat()
    r = client.post(f"{API}/centres/{database.centre_id}/closures", headers=admin, json={
        "starts_on": day, "ends_on": day, "reason": "Burst pipe"})
    assert r.status_code == 201, r.text
    assert r.json()["moved_to_waitlist"] == 4

    views = [client.post(f"{API}/appointments/lookup", json={"code": c}).json()
             for c in codes]
    assert [v["status"] for v in views] == ["waiting"] * 4
    assert [v["position"] for v in views] == [1, 2, 3, 4]  # in their order of request
    later = client.post(f"{API}/appointments/lookup", json={"code": early["code"]}).json()
    assert later["position"] == 5  # the ordinary request now comes after them
    assert client.get(f"{API}/appointments/centres/{database.centre_id}/slots",
                      params={"day": day}).json() == []

    sent = outbox.drain()
    assert sorted(e.to for e in sent) == sorted(f"p{n}@example.org" for n in range(4))
    assert all("cerrado" in e.body for e in sent)  # Spanish, as the residents asked

    schedule = client.get(f"{API}/centres/{database.centre_id}/schedule", headers=admin).json()
    assert any(c["reason"] == "Burst pipe" for c in schedule["closures"])
