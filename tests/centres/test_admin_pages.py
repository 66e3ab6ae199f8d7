"""The administrators' centre pages: create a centre, edit its appointment schedule, close
and reopen days, release now; only administrators, and only the form's own fields."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest

from idsvc.clock import local_today, utcnow
from idsvc.web.i18n import LANGUAGE_COOKIE
from tests.appointments.conftest import (
    API,
    Outbox,
    open_one_day,
    person,
    schedule_body,
    tomorrow,
)
from tests.pages import post_form, staff_login

ZONE = "America/New_York"


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))


@pytest.fixture
def as_admin(client):
    client.cookies.set(LANGUAGE_COOKIE, "en")
    staff_login(client, "admin")
    return client


def _page(centre_id: int) -> str:
    return f"/admin/centres/{centre_id}"


def _schedule_form(**overrides: object) -> dict:
    """Monday with a lunch break, Saturday morning, an own release rule."""
    form: dict = {"languages": ["eng", "spa"], "slot_minutes": "20", "capacity": "2",
                  "hours-0-0-opens": "09:00", "hours-0-0-closes": "12:00",
                  "hours-0-1-opens": "13:00", "hours-0-1-closes": "17:00",
                  "hours-5-0-opens": "10:00", "hours-5-0-closes": "14:00",
                  "release_weekday": "2", "release_time": "08:30", "release_weeks_ahead": "3"}
    form.update(overrides)
    return {name: value for name, value in form.items() if value is not None}


def _create(client, code: str = "EAST-2", name: str = "East Side") -> int:
    r = post_form(client, "/admin/centres", {"code": code, "name": name,
                                             "address": "12 River Road"},
                  page="/admin/centres")
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.endswith("?done=created")
    assert "The centre was created." in client.get(location).text
    return int(location.split("?")[0].rsplit("/", 1)[1])


def test_admin_home_links_to_the_centres(as_admin):
    assert 'href="/admin/centres"' in as_admin.get("/admin/").text


def test_a_centre_is_created_and_listed(as_admin, admin):
    centre_id = _create(as_admin)
    listing = _text(as_admin.get("/admin/centres"))
    assert "EAST-2 East Side 12 River Road No schedule yet" in listing
    assert "CENTRAL Central 100 Main Street" in listing
    api = as_admin.get(f"{API}/centres", headers=admin).json()
    assert {"id": centre_id, "code": "EAST-2", "name": "East Side",
            "address": "12 River Road"} in api
    page = as_admin.get(_page(centre_id))
    assert page.status_code == 200
    assert f'href="/appointments/centres/{centre_id}"' in page.text
    assert f'href="/centres/{centre_id}/display"' in page.text
    assert "takes no appointments yet" in page.text

    taken = post_form(as_admin, "/admin/centres", {"code": "EAST-2", "name": "Again"},
                      page="/admin/centres")
    assert taken.status_code == 409 and 'id="code-error"' in taken.text
    bad = post_form(as_admin, "/admin/centres", {"code": "east side", "name": ""},
                    page="/admin/centres")
    assert bad.status_code == 422
    assert 'id="code-error"' in bad.text and 'id="name-error"' in bad.text
    assert len(as_admin.get(f"{API}/centres", headers=admin).json()) == len(api)


def test_the_schedule_saved_on_the_page_is_the_apis(as_admin, admin):
    centre_id = _create(as_admin)
    r = post_form(as_admin, _page(centre_id), _schedule_form(), page=_page(centre_id))
    assert r.status_code == 303 and r.headers["location"].endswith("?done=saved")
    api = as_admin.get(f"{API}/centres/{centre_id}/schedule", headers=admin).json()
    assert api == {
        "centre_id": centre_id, "languages": ["eng", "spa"], "slot_minutes": 20,
        "capacity": 2, "closures": [],
        "hours": [{"weekday": 0, "opens": "09:00:00", "closes": "12:00:00"},
                  {"weekday": 0, "opens": "13:00:00", "closes": "17:00:00"},
                  {"weekday": 5, "opens": "10:00:00", "closes": "14:00:00"}],
        "release": {"weekday": 2, "time": "08:30:00", "weeks_ahead": 3}}

    page = as_admin.get(r.headers["location"]).text
    assert "The schedule was saved." in page
    assert 'value="spa" checked' in page and 'value="fra" checked' not in page
    assert 'name="hours-0-1-closes" value="17:00"' in page
    assert 'name="hours-5-0-opens" value="10:00"' in page
    assert '<option value="2" selected>Wednesday</option>' in page
    assert "Takes appointments" in _text(as_admin.get("/admin/centres"))

    # Empty release fields: the city's default rule again (shown as text).
    r = post_form(as_admin, _page(centre_id), _schedule_form(
        release_weekday="", release_time="", release_weeks_ahead=""), page=_page(centre_id))
    assert r.status_code == 303
    assert as_admin.get(f"{API}/centres/{centre_id}/schedule",
                        headers=admin).json()["release"] is None
    assert "City default: each Monday at 09:00 (city time), the week 4 weeks ahead opens." \
        in _text(as_admin.get(_page(centre_id)))


def test_a_day_with_more_intervals_than_the_form_shows_keeps_them_all(as_admin, admin,
                                                                     database):
    """The page shows a row for every saved interval, so saving it as shown changes nothing."""
    centre_id = database.centre_id
    hours = [{"weekday": 1, "opens": f"{h:02}:00:00", "closes": f"{h:02}:45:00"}
             for h in (8, 10, 12, 14)]
    assert as_admin.put(f"{API}/centres/{centre_id}/schedule", headers=admin, json={
        "languages": ["eng"], "slot_minutes": 15, "capacity": 1,
        "hours": hours}).status_code == 200
    page = as_admin.get(_page(centre_id)).text
    shown = dict(re.findall(r'name="(hours-\d-\d+-(?:opens|closes))" value="([^"]*)"', page))
    assert shown["hours-1-3-closes"] == "14:45" and "hours-0-3-opens" in shown
    r = post_form(as_admin, _page(centre_id), {**shown, "languages": ["eng"],
                                               "slot_minutes": "15", "capacity": "1"},
                  page=_page(centre_id))
    assert r.status_code == 303, r.text
    assert as_admin.get(f"{API}/centres/{centre_id}/schedule",
                        headers=admin).json()["hours"] == hours


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"hours-0-1-opens": "18:00", "hours-0-1-closes": "17:00"}, "hours-0-1",
     "The closing time must be after the opening time."),
    ({"hours-0-1-opens": "11:30"}, "hours",
     "Two intervals of the same day overlap"),
    ({"hours-5-0-closes": ""}, "hours-5-0",
     "Write both times of the interval"),
    ({"languages": None}, "languages", "Tick at least one language"),
    ({"slot_minutes": "3"}, "slot_minutes", "A slot length from 5 to 240 minutes."),
    ({"release_time": ""}, "release_time", "Write a time, or leave"),
])
def test_a_refused_schedule_is_shown_with_its_problem_and_nothing_is_saved(
        as_admin, admin, database, change, field, message):
    centre_id = database.centre_id
    saved = as_admin.put(f"{API}/centres/{centre_id}/schedule", headers=admin,
                         json=schedule_body(weekday=3))
    assert saved.status_code == 200, saved.text
    before = as_admin.get(f"{API}/centres/{centre_id}/schedule", headers=admin)
    r = post_form(as_admin, _page(centre_id), _schedule_form(**change), page=_page(centre_id))
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.text and message in _text(r)
    assert "The schedule was not saved" in r.text
    assert 'name="hours-0-0-opens" value="09:00"' in r.text  # the form comes back as sent
    after = as_admin.get(f"{API}/centres/{centre_id}/schedule", headers=admin)
    assert (after.status_code, after.json()) == (before.status_code, before.json())


def test_a_closure_moves_a_booking_to_the_waitlist_and_can_be_removed(
        as_admin, admin, database, app):
    centre_id = database.centre_id
    slot = open_one_day(as_admin, admin, centre_id)[0]
    booked = as_admin.post(f"{API}/appointments", json=person(slot_id=slot["id"]))
    assert booked.status_code == 201, booked.text
    code = booked.json()["code"]
    outbox = Outbox(app, [])
    outbox.drain()

    day = tomorrow().isoformat()
    r = post_form(as_admin, f"{_page(centre_id)}/closures",
                  {"starts_on": day, "ends_on": day, "reason": "Burst pipe"},
                  page=_page(centre_id))
    assert r.status_code == 303 and "done=closed&moved=1" in r.headers["location"]
    page = as_admin.get(r.headers["location"])
    assert "Bookings moved to the front of the waitlist, each with an email: 1." \
        in _text(page)
    assert "Burst pipe" in page.text
    view = as_admin.post(f"{API}/appointments/lookup", json={"code": code}).json()
    assert (view["status"], view["position"]) == ("waiting", 1)
    assert [e.to for e in outbox.drain()] == ["amaru@example.org"]

    closures = as_admin.get(f"{API}/centres/{centre_id}/schedule",
                            headers=admin).json()["closures"]
    pipe = next(c for c in closures if c["reason"] == "Burst pipe")
    remove = f"{_page(centre_id)}/closures/{pipe['id']}/remove"
    assert f'action="{remove}"' in page.text
    r = post_form(as_admin, remove, page=_page(centre_id))
    assert r.status_code == 303 and "done=reopened" in r.headers["location"]
    left = as_admin.get(f"{API}/centres/{centre_id}/schedule", headers=admin).json()
    assert [c["id"] for c in left["closures"]] == [c["id"] for c in closures
                                                   if c["id"] != pipe["id"]]
    assert post_form(as_admin, remove, page=_page(centre_id)).status_code == 404

    backwards = post_form(as_admin, f"{_page(centre_id)}/closures",
                          {"starts_on": day, "ends_on": "2020-01-01", "reason": "Oops"},
                          page=_page(centre_id))
    assert backwards.status_code == 422 and 'id="closure-ends_on-error"' in backwards.text
    assert "The last day is before the first day." in backwards.text


def test_release_now_opens_the_slots_and_shows_its_report(as_admin, admin, auditor, database):
    centre_id = _create(as_admin)
    day = tomorrow()
    release_day = local_today(ZONE).weekday()
    form = {"languages": ["eng"], "slot_minutes": "15", "capacity": "1",
            f"hours-{day.weekday()}-0-opens": "09:00",
            f"hours-{day.weekday()}-0-closes": "10:00",
            "release_weekday": str(release_day), "release_time": "00:00",
            "release_weeks_ahead": "1"}
    assert post_form(as_admin, _page(centre_id), form, page=_page(centre_id)).status_code == 303
    slots = f"{API}/appointments/centres/{centre_id}/slots"
    assert as_admin.get(slots, params={"day": day.isoformat()}).json() == []

    r = post_form(as_admin, f"{_page(centre_id)}/release", page=_page(centre_id))
    assert r.status_code == 303
    counts = dict(re.findall(r"(created|released|assigned)=(\d+)", r.headers["location"]))
    assert int(counts["released"]) >= 4 and int(counts["created"]) >= 4
    assert f"Slots released: {counts['released']}." in _text(as_admin.get(r.headers["location"]))
    free = as_admin.get(slots, params={"day": day.isoformat()}).json()
    assert len(free) == 4

    today = utcnow().date()
    events = as_admin.get(f"{API}/audit/events", headers=auditor, params={
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat()})
    actions = {json.loads(line)["action"] for line in events.text.splitlines()}
    assert {"centre.create", "centre.schedule", "appointment.release"} <= actions


@pytest.mark.parametrize("username", ["clerk", "auditor"])
def test_clerks_and_auditors_are_refused(client, admin, database, username):
    staff_login(client, username)
    page = _page(database.centre_id)
    for path in ("/admin/centres", page):
        assert client.get(path, follow_redirects=False).status_code == 403, path
    assert 'href="/admin/centres"' not in client.get("/admin/").text
    before = client.get(f"{API}/centres", headers=admin).json()
    for path, data in (("/admin/centres", {"code": "SNEAK", "name": "Sneak"}),
                       (page, _schedule_form()), (f"{page}/release", {}),
                       (f"{page}/closures", {"starts_on": "2030-01-01",
                                             "ends_on": "2030-01-01", "reason": "x"})):
        assert post_form(client, path, data).status_code == 403, path
    assert client.get(f"{API}/centres", headers=admin).json() == before
    assert client.get(f"{API}/centres/{database.centre_id}/schedule",
                      headers=admin).status_code == 404


def test_a_field_the_form_does_not_have_is_refused(as_admin, admin, database):
    r = post_form(as_admin, "/admin/centres", {"code": "WEST", "name": "West",
                                               "nationality": "x"}, page="/admin/centres")
    assert r.status_code == 422 and "nationality" in r.text
    assert all(c["code"] != "WEST" for c in as_admin.get(f"{API}/centres", headers=admin).json())
    page = _page(database.centre_id)
    r = post_form(as_admin, page, _schedule_form(**{"hours-0-50-opens": "09:00"}), page=page)
    assert r.status_code == 422 and "hours-0-50-opens" in r.text
    assert as_admin.get(f"{API}/centres/{database.centre_id}/schedule",
                        headers=admin).status_code == 404
