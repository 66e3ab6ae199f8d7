"""The walk-in queue: tickets, check-ins, who is called next, the clerk page and the
public waiting-room display."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text, update

from idsvc.app import create_app
from idsvc.appointments import upkeep
from idsvc.appointments.models import Slot
from idsvc.audit.service import Actor
from idsvc.clock import local_today, utcnow
from idsvc.crypto.envelope import MasterKey
from tests.appointments.conftest import API, person
from tests.conftest import PASSWORD, settings_for
from tests.live import committed_staff, serving
from tests.pages import post_form, staff_login

ZONE = "America/New_York"


def queue(centre_id: int) -> str:
    return f"{API}/centres/{centre_id}/queue"


def walk_in(client, clerk, centre_id: int, language: str = "spa") -> dict:
    r = client.post(f"{queue(centre_id)}/tickets", headers=clerk, json={"language": language})
    assert r.status_code == 201, r.text
    return r.json()


def call(client, clerk, centre_id: int, desk: str = "Desk 1"):
    return client.post(f"{queue(centre_id)}/call", headers=clerk, json={"desk": desk})


@pytest.fixture
def today(client, clerk, database, connection, slots) -> list[int]:
    """Two bookings today, by the clerks' day list: Amaru's time has come (ten minutes
    ago), Killa's is in two hours. Booked tomorrow, then moved to today as if the clock
    had turned."""
    for slot, name, delta in ((slots[0], "Amaru", timedelta(minutes=-10)),
                              (slots[1], "Killa", timedelta(hours=2))):
        r = client.post(f"{API}/appointments", json=person(
            slot_id=slot["id"], name=name, email=f"{name.lower()}@example.org"))
        assert r.status_code == 201, r.text
        at = utcnow() + delta
        connection.execute(update(Slot).where(Slot.id == slot["id"]).values(
            day=local_today(ZONE), starts_at=at, ends_at=at + timedelta(minutes=15)))
    listed = client.get(f"{API}/centres/{database.centre_id}/appointments", headers=clerk,
                        params={"day": local_today(ZONE).isoformat()}).json()
    return [next(a["id"] for a in listed if a["name"] == name) for name in ("Amaru", "Killa")]


def test_walk_in_tickets_are_numbered_and_called_in_order(client, clerk, database):
    centre = database.centre_id
    labels = [walk_in(client, clerk, centre)["label"] for _ in range(3)]
    assert labels == ["W-001", "W-002", "W-003"]
    first = call(client, clerk, centre, "Desk 3").json()
    assert (first["label"], first["state"], first["desk"]) == ("W-001", "called", "Desk 3")
    assert call(client, clerk, centre).json()["label"] == "W-002"

    shown = client.get(queue(centre), headers=clerk).json()
    assert [(t["label"], t["state"]) for t in shown["tickets"]] == [
        ("W-001", "called"), ("W-002", "called"), ("W-003", "waiting")]
    r = client.post(f"{queue(centre)}/tickets/{first['id']}/finish", headers=clerk,
                    json={"outcome": "served"})
    assert r.status_code == 200 and r.json()["state"] == "served"
    again = client.post(f"{queue(centre)}/tickets/{first['id']}/finish", headers=clerk,
                        json={"outcome": "no_show"})
    assert again.status_code == 409 and again.json()["error"] == "ticket_not_called"
    assert call(client, clerk, centre).json()["label"] == "W-003"
    empty = call(client, clerk, centre)
    assert empty.status_code == 404 and empty.json()["error"] == "queue_empty"


def test_due_appointments_go_before_walk_ins_and_later_ones_after(client, clerk, database,
                                                                  today, connection):
    centre = database.centre_id
    due, later = today
    walk_in(client, clerk, centre)
    r = client.post(f"{queue(centre)}/check-ins", headers=clerk, json={"appointment_id": later})
    assert r.status_code == 201 and r.json()["label"] == "A-001"
    r = client.post(f"{queue(centre)}/check-ins", headers=clerk, json={"appointment_id": due})
    assert r.status_code == 201 and r.json()["label"] == "A-002"
    assert r.json()["language"] == "spa" and "name" not in r.json()
    twice = client.post(f"{queue(centre)}/check-ins", headers=clerk,
                        json={"appointment_id": due})
    assert twice.status_code == 409 and twice.json()["error"] == "already_checked_in"

    # The due appointment first (though checked in last), then the walk-in; the one in
    # two hours only when nobody else waits.
    assert [call(client, clerk, centre).json()["label"] for _ in range(3)] == [
        "A-002", "W-001", "A-001"]
    actions = connection.execute(text(
        "SELECT action, subject_id FROM audit_events WHERE action LIKE 'appointment.c%' "
        "ORDER BY id")).all()
    assert actions == [("appointment.check_in", str(later)), ("appointment.check_in", str(due)),
                       ("appointment.call", str(due)), ("appointment.call", str(later))]


def test_recall_and_no_show(client, clerk, database, today, connection):
    centre = database.centre_id
    ticket = client.post(f"{queue(centre)}/check-ins", headers=clerk,
                         json={"appointment_id": today[0]}).json()
    called = call(client, clerk, centre, "Desk 2").json()
    again = client.post(f"{queue(centre)}/tickets/{called['id']}/recall", headers=clerk,
                        json={"desk": "Desk 5"})
    assert again.status_code == 200 and again.json()["desk"] == "Desk 5"
    gone = client.post(f"{queue(centre)}/tickets/{ticket['id']}/finish", headers=clerk,
                       json={"outcome": "no_show"})
    assert gone.status_code == 200 and gone.json()["state"] == "no_show"
    late = client.post(f"{queue(centre)}/tickets/{ticket['id']}/recall", headers=clerk, json={})
    assert late.status_code == 409 and late.json()["error"] == "ticket_not_called"
    actions = connection.execute(text(
        "SELECT action FROM audit_events WHERE subject_type = 'appointment' "
        "AND subject_id = :id ORDER BY id"), {"id": str(today[0])}).scalars().all()
    assert actions[-3:] == ["appointment.call", "appointment.recall", "appointment.no_show"]


def test_check_in_only_today_and_here(client, clerk, database, slots):
    assert client.post(f"{API}/appointments", json=person(slot_id=slots[0]["id"])).is_success
    [listed] = client.get(f"{API}/centres/{database.centre_id}/appointments", headers=clerk,
                          params={"day": slots[0]["starts_at"][:10]}).json()
    tomorrow = listed["id"]
    refused = client.post(f"{queue(database.centre_id)}/check-ins", headers=clerk,
                          json={"appointment_id": tomorrow})
    assert refused.status_code == 422 and refused.json()["error"] == "appointment_not_today"
    unknown = client.post(f"{queue(database.centre_id)}/check-ins", headers=clerk,
                          json={"appointment_id": 2**31 - 1})
    assert unknown.status_code == 404 and unknown.json()["error"] == "appointment_not_found"


def test_requests_are_checked(client, clerk, database):
    tickets = f"{queue(database.centre_id)}/tickets"
    r = client.post(tickets, headers=clerk, json={"language": "spa", "name": "Amaru"})
    assert r.status_code == 422 and r.json()["error"] == "unknown_field"
    assert client.post(tickets, headers=clerk, json={"language": "xxx"}).status_code == 422
    r = client.post(f"{queue(database.centre_id)}/call", headers=clerk, json={"desk": ""})
    assert r.status_code == 422
    r = client.post(f"{queue(database.centre_id)}/tickets/1/finish", headers=clerk,
                    json={"outcome": "lost"})
    assert r.status_code == 422
    assert client.post(tickets, json={"language": "spa"}).status_code == 401


def test_another_centres_queue_is_refused(client, clerk, admin, database):
    other = client.post(f"{API}/centres", headers=admin, json={
        "code": "NORTH", "name": "North"}).json()["id"]
    for method, path, body in (("GET", "", None), ("POST", "/tickets", {"language": "spa"}),
                               ("POST", "/call", {"desk": "Desk 1"}),
                               ("POST", "/check-ins", {"appointment_id": 1})):
        r = client.request(method, queue(other) + path, headers=clerk, json=body)
        assert r.status_code == 403 and r.json()["error"] == "other_centre", (path, r.text)
    # Nor is a ticket of this centre reached through the other centre's address.
    ticket = walk_in(client, clerk, database.centre_id)
    r = client.post(f"{queue(other)}/tickets/{ticket['id']}/finish", headers=clerk,
                    json={"outcome": "cancelled"})
    assert r.status_code == 403


def test_the_purge_unlinks_a_purged_appointment_and_deletes_past_tickets(
        client, clerk, database, today, app, connection):
    client.post(f"{queue(database.centre_id)}/check-ins", headers=clerk,
                json={"appointment_id": today[0]})
    walk_in(client, clerk, database.centre_id)
    # The appointment goes first (cancelled and purged): its ticket stays, unlinked.
    connection.execute(text("DELETE FROM appointments WHERE id = :id"), {"id": today[0]})
    assert connection.execute(text(
        "SELECT label, appointment_id FROM queue_tickets ORDER BY label")).all() == [
        ("A-001", None), ("W-001", None)]
    with app.state.sessionmaker() as session:
        upkeep.purge(session, settings=database.settings, now=utcnow(), actor=Actor.system())
        session.commit()
    assert connection.execute(text("SELECT count(*) FROM queue_tickets")).scalar() == 2
    days = database.settings.appointment_purge_after_days
    with app.state.sessionmaker() as session:
        upkeep.purge(session, settings=database.settings,
                     now=utcnow() + timedelta(days=days + 1), actor=Actor.system())
        session.commit()
    assert connection.execute(text("SELECT count(*) FROM queue_tickets")).scalar() == 0


# --- pages --------------------------------------------------------------------------------

def test_the_clerk_page_issues_checks_in_and_calls(client, database, today):
    staff_login(client, "clerk")
    page = client.get("/clerk/queue")
    assert page.status_code == 200 and "Amaru" in page.text and "Killa" in page.text
    r = post_form(client, "/clerk/queue/tickets", {"language": "spa", "desk": "Desk 4"},
                  page="/clerk/queue")
    assert r.status_code == 303 and r.headers["location"] == \
        "/clerk/queue?desk=Desk+4&issued=W-001"
    r = post_form(client, "/clerk/queue/check-in", {"appointment_id": str(today[0])},
                  page="/clerk/queue")
    assert r.status_code == 303 and "issued=A-001" in r.headers["location"]
    r = post_form(client, "/clerk/queue/call", {"desk": "Desk 4"}, page="/clerk/queue")
    assert r.headers["location"] == "/clerk/queue?desk=Desk+4&called=A-001"
    shown = client.get(r.headers["location"]).text
    assert "Called A-001 to Desk 4." in shown and "Checked in: A-001" in shown

    refused = post_form(client, "/clerk/queue/tickets", {"language": "spa",
                                                         "nationality": "x"},
                        page="/clerk/queue")
    assert refused.status_code == 422 and "W-002" not in refused.text
    post_form(client, "/clerk/queue/call", {"desk": "Desk 4"}, page="/clerk/queue")
    empty = post_form(client, "/clerk/queue/call", {"desk": "Desk 4"}, page="/clerk/queue")
    assert empty.status_code == 404 and "Nobody is waiting." in empty.text


def test_the_display_shows_labels_and_desks_but_no_names(client, clerk, database, today):
    centre = database.centre_id
    client.post(f"{queue(centre)}/check-ins", headers=clerk, json={"appointment_id": today[0]})
    call(client, clerk, centre, "Desk 7")
    client.cookies.clear()
    page = client.get(f"/centres/{centre}/display")
    assert page.status_code == 200
    assert "A-001" in page.text and "Desk 7" in page.text
    assert "Amaru" not in page.text and "Killa" not in page.text
    # It refreshes itself: a script swaps in the calls, a reload without script.
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in page.text
    assert '<script src="/static/js/display.js" defer></script>' in page.text
    assert client.get("/static/js/display.js").status_code == 200
    assert client.get("/centres/999999/display").status_code == 404


def test_the_display_speaks_each_language_of_the_centre(client, admin, clerk, database):
    day = local_today(ZONE)
    r = client.put(f"{API}/centres/{database.centre_id}/schedule", headers=admin, json={
        "languages": ["spa", "ara", "ase", "eng"], "slot_minutes": 15, "capacity": 1,
        "hours": [{"weekday": day.weekday(), "opens": "09:00", "closes": "10:00"}]})
    assert r.status_code == 200, r.text
    walk_in(client, clerk, database.centre_id)
    call(client, clerk, database.centre_id)
    page = client.get(f"/centres/{database.centre_id}/display",
                      headers={"Accept-Language": "fr"}).text
    # The page's language is the centre's first one, not the browser's.
    assert '<html lang="es" dir="ltr">' in page
    for lang in ('lang="es"', 'lang="ar" dir="rtl"', 'lang="en"'):
        assert lang in page
    assert 'lang="fr"' not in page  # not a language of this centre
    assert page.count("<span lang=") == 3 * 3  # heading, ticket and desk, in three languages


# --- two clerks at once -------------------------------------------------------------------

@pytest.mark.slow
def test_two_clerks_calling_at_once_never_get_the_same_ticket(scratch_url, tmp_path):
    headers = committed_staff(scratch_url, tmp_path / "keys")
    app = create_app(settings_for(scratch_url, tmp_path / "keys"),
                     master_key=MasterKey.from_secret(os.urandom(32)))
    tickets = 12
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        centre = client.post(f"{API}/centres", headers=headers["admin"], json={
            "code": "RACE", "name": "Race Centre"}).json()["id"]
        clerks = []
        for name in ("racer-one", "racer-two"):
            r = client.post(f"{API}/staff", headers=headers["admin"], json={
                "username": name, "password": PASSWORD, "role": "clerk", "centre_id": centre})
            assert r.status_code == 201, r.text
            token = client.post(f"{API}/auth/token", data={"username": name,
                                                           "password": PASSWORD}).json()
            clerks.append({"Authorization": f"Bearer {token['access_token']}"})
        for _ in range(tickets):
            walk_in(client, clerks[0], centre)
        start = threading.Barrier(2)

        def work(n: int) -> list[str]:
            start.wait()
            labels = []
            while (r := call(client, clerks[n], centre, f"Desk {n}")).status_code == 200:
                labels.append(r.json()["label"])
            assert r.json()["error"] == "queue_empty"
            return labels

        with ThreadPoolExecutor(max_workers=2) as pool:
            one, two = pool.map(work, range(2))
    called = one + two
    assert sorted(called) == [f"W-{n:03d}" for n in range(1, tickets + 1)]
    assert len(set(called)) == tickets
