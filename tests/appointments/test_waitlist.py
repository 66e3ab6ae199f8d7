"""The waitlist: released and freed seats go to it in order of request; rate limits."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from idsvc.app import create_app
from idsvc.db import make_sessionmaker
from tests.appointments.conftest import API, person, schedule_body, tomorrow


def wait(client, **fields):
    day = tomorrow().isoformat()
    body = person(from_date=day, until_date=day)
    body.update(fields)
    return client.post(f"{API}/appointments/waitlist", json=body)


def test_released_slots_go_to_the_waitlist_first(client, admin, database):
    centre = database.centre_id
    day = tomorrow()
    client.put(f"{API}/centres/{centre}/schedule", headers=admin,
               json=schedule_body(weekday=day.weekday()))
    client.post(f"{API}/centres/{centre}/closures", headers=admin, json={
        "starts_on": (day + timedelta(days=1)).isoformat(),
        "ends_on": (day + timedelta(days=90)).isoformat(), "reason": "Tests"})
    first = wait(client, centre_id=centre, email="first@example.org").json()
    anywhere = wait(client, email="second@example.org").json()  # any centre speaking Spanish
    assert first["appointment"]["status"] == "waiting"
    assert (first["appointment"]["position"], anywhere["appointment"]["position"]) == (1, 2)

    report = client.post(f"{API}/appointments/release", headers=admin).json()
    assert report["assigned"] == 2
    views = [client.post(f"{API}/appointments/lookup", json={"code": w["code"]}).json()
             for w in (first, anywhere)]
    assert [v["status"] for v in views] == ["booked", "booked"]
    assert views[0]["starts_at"] < views[1]["starts_at"]  # first in line, first time
    left = client.get(f"{API}/appointments/centres/{centre}/slots",
                      params={"day": day.isoformat()}).json()
    assert len(left) == 2  # only the remainder is bookable


def test_a_free_seat_in_the_window_is_taken_at_once(client, slots):
    r = wait(client)
    assert r.status_code == 201 and r.json()["appointment"]["status"] == "booked"


def test_waitlist_requests_are_checked(client, slots, database):
    r = wait(client, language="kor")
    assert r.status_code == 422 and r.json()["error"] == "language_not_offered"
    r = wait(client, from_date="2020-01-01", until_date="2020-01-02")
    assert r.status_code == 422 and r.json()["error"] == "invalid_window"
    r = wait(client, until_date="2000-01-01")
    assert r.status_code == 422 and r.json()["error"] == "validation_failed"
    r = wait(client, centre_id=2**31 - 1)
    assert r.status_code == 404


def test_requests_per_address_are_limited(database, connection):
    settings = database.settings.model_copy(
        update={"appointment_requests_per_address_per_hour": 3})
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    with TestClient(create_app(settings, master_key=database.master_key,
                               sessions=sessions)) as client:
        for _ in range(3):
            r = client.post(f"{API}/appointments/lookup", json={"code": "AAAAA"})
            assert r.status_code == 404
        r = client.post(f"{API}/appointments/lookup", json={"code": "AAAAA"})
        assert r.status_code == 429 and r.json()["error"] == "rate_limited"
        assert int(r.headers["Retry-After"]) > 0
        r = wait(client)
        assert r.status_code == 429
        assert client.get(f"{API}/appointments/centres").status_code == 200  # counts: free
