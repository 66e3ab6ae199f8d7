"""A centre with a released schedule, and the emails the outbox would send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from idsvc.clock import local_today
from idsvc.notifications.outbox import Email, drain

API = "/api/v1"


def tomorrow(zone: str = "America/New_York") -> date:
    return local_today(zone) + timedelta(days=1)


def schedule_body(*, weekday: int, opens: str = "09:00", closes: str = "10:00",
                  capacity: int = 1, languages: tuple[str, ...] = ("eng", "spa")) -> dict:
    """Open one weekday; released every day at midnight through next week."""
    return {"languages": list(languages), "slot_minutes": 15, "capacity": capacity,
            "hours": [{"weekday": weekday, "opens": opens, "closes": closes}],
            "release": {"weekday": local_today("America/New_York").weekday(),
                        "time": "00:00", "weeks_ahead": 1}}


def open_one_day(client: TestClient, admin: dict[str, str], centre_id: int, *,
                 closes: str = "10:00", capacity: int = 1,
                 languages: tuple[str, ...] = ("eng", "spa")) -> list[dict]:
    """Open the centre tomorrow only (a closure covers the weeks after) and release:
    tomorrow's free slots."""
    day = tomorrow()
    r = client.put(f"{API}/centres/{centre_id}/schedule", headers=admin, json=schedule_body(
        weekday=day.weekday(), closes=closes, capacity=capacity, languages=languages))
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/centres/{centre_id}/closures", headers=admin, json={
        "starts_on": (day + timedelta(days=1)).isoformat(),
        "ends_on": (day + timedelta(days=90)).isoformat(), "reason": "Only one day in tests"})
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/appointments/release", headers=admin)
    assert r.status_code == 200, r.text
    slots = client.get(f"{API}/appointments/centres/{centre_id}/slots",
                       params={"day": day.isoformat()})
    assert slots.status_code == 200, slots.text
    return slots.json()


def person(**overrides: object) -> dict:
    body: dict = {"name": "Amaru", "email": "amaru@example.org", "language": "spa"}
    body.update(overrides)
    return body


@dataclass
class Outbox:
    """Sends what the app queued to a list instead of an SMTP server."""

    app: FastAPI
    sent: list[Email]

    def send(self, email: Email) -> None:
        self.sent.append(email)

    def drain(self) -> list[Email]:
        self.sent.clear()
        drain(self.app.state.sessionmaker, self.app.state.runtime.master_key, self)
        return list(self.sent)


@pytest.fixture
def outbox(app: FastAPI) -> Outbox:
    return Outbox(app, [])


@pytest.fixture
def slots(client, admin, database) -> list[dict]:
    return open_one_day(client, admin, database.centre_id)
