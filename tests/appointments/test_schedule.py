"""Administrators' schedules, the release rule and the idempotent release."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import text

from idsvc.appointments.schedule import ReleaseRule
from tests.appointments.conftest import API, schedule_body, tomorrow

ZONE = "America/New_York"


@pytest.mark.parametrize(("now", "first_unreleased"), [
    # Monday 1 June 2026, 08:59 in New York: the previous release still holds.
    (datetime(2026, 6, 1, 12, 59, tzinfo=UTC), date(2026, 6, 29)),
    # 09:00 that Monday: the week four weeks on (29 June to 5 July) opens.
    (datetime(2026, 6, 1, 13, 0, tzinfo=UTC), date(2026, 7, 6)),
    # Later that week, nothing more.
    (datetime(2026, 6, 5, 20, 0, tzinfo=UTC), date(2026, 7, 6)),
])
def test_the_weekly_release_opens_the_week_n_weeks_ahead(now, first_unreleased):
    rule = ReleaseRule(weekday=0, at=time(9, 0), weeks_ahead=4)
    assert rule.released_before(now, ZONE) == first_unreleased


def test_admin_sets_a_schedule_and_release_is_idempotent(client, admin, clerk, database):
    centre = database.centre_id
    body = schedule_body(weekday=tomorrow().weekday())
    assert client.put(f"{API}/centres/{centre}/schedule", headers=clerk,
                      json=body).status_code == 403
    r = client.put(f"{API}/centres/{centre}/schedule", headers=admin, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["languages"] == ["eng", "spa"] and r.json()["release"]["weeks_ahead"] == 1
    first = client.post(f"{API}/appointments/release", headers=admin).json()
    assert first["created"] > 0 and first["released"] >= 4
    again = client.post(f"{API}/appointments/release", headers=admin).json()
    assert again == {"created": 0, "released": 0, "assigned": 0}

    listed = client.get(f"{API}/appointments/centres").json()
    [central] = [c for c in listed if c["id"] == centre]
    assert central["languages"] == ["eng", "spa"]
    assert {"day": tomorrow().isoformat(), "free": 4} in central["days"]
    assert set(central) == {"id", "code", "name", "address", "languages", "days"}


def test_a_changed_schedule_remakes_only_unreleased_slots(client, admin, database):
    centre = database.centre_id
    body = schedule_body(weekday=tomorrow().weekday())
    client.put(f"{API}/centres/{centre}/schedule", headers=admin, json=body)
    client.post(f"{API}/appointments/release", headers=admin)
    client.put(f"{API}/centres/{centre}/schedule", headers=admin,
               json={**body, "slot_minutes": 30})
    day = tomorrow().isoformat()
    slots = client.get(f"{API}/appointments/centres/{centre}/slots", params={"day": day})
    assert len(slots.json()) == 4  # released 15-minute slots stay


@pytest.mark.parametrize(("change", "error"), [
    ({"hours": [{"weekday": 1, "opens": "09:00", "closes": "12:00"},
                {"weekday": 1, "opens": "11:00", "closes": "13:00"}]}, "hours_overlap"),
    ({"hours": [{"weekday": 1, "opens": "12:00", "closes": "09:00"}]}, "validation_failed"),
    ({"languages": ["xyz"]}, "validation_failed"),
    ({"citizenship": "x"}, "unknown_field"),
])
def test_bad_schedules_are_refused(client, admin, database, change, error):
    body = {**schedule_body(weekday=1), **change}
    r = client.put(f"{API}/centres/{database.centre_id}/schedule", headers=admin, json=body)
    assert r.status_code == 422 and r.json()["error"] == error, r.text


def test_unknown_centre_and_schedule(client, admin):
    r = client.put(f"{API}/centres/999999/schedule", headers=admin,
                   json=schedule_body(weekday=1))
    assert r.status_code == 404
    assert client.get(f"{API}/centres/999999/schedule", headers=admin).status_code == 404


def test_clerks_see_the_days_bookings_with_names(client, clerk, database, slots, connection):
    client.post(f"{API}/appointments", json={"name": "Amaru", "language": "spa",
                                             "phone": "+1 555 010 2030",
                                             "slot_id": slots[0]["id"]})
    r = client.get(f"{API}/centres/{database.centre_id}/appointments", headers=clerk,
                   params={"day": tomorrow().isoformat()})
    assert r.status_code == 200, r.text
    [booking] = r.json()
    assert booking["name"] == "Amaru" and booking["phone"] == "+1 555 010 2030"
    actions = connection.execute(text("SELECT action FROM audit_events")).scalars().all()
    assert "appointment.list" in actions and "appointment.book" in actions
