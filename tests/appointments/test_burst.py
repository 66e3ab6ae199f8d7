"""200 people try to book 20 released slots at the same instant, against a real server.

The server gets five database connections and an unhurried pool: the test is about who
gets a seat, not about how long a loaded test machine takes; on a database timeout a
request would answer 503 and could be sent again.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from idsvc.app import create_app
from idsvc.crypto.envelope import MasterKey
from idsvc.db import make_engine, make_sessionmaker
from tests.appointments.conftest import API, open_one_day, person
from tests.conftest import settings_for
from tests.live import committed_staff, serving

pytestmark = pytest.mark.slow
PEOPLE = 200


def test_a_burst_gives_twenty_bookings_and_a_fair_queue(scratch_url, tmp_path):
    headers = committed_staff(scratch_url, tmp_path / "keys")
    settings = settings_for(scratch_url, tmp_path / "keys").model_copy(
        update={"appointment_requests_per_address_per_hour": 0})  # all from 127.0.0.1
    engine = make_engine(scratch_url, pool_size=5, max_overflow=0, pool_timeout=600)
    app = create_app(settings, master_key=MasterKey.from_secret(os.urandom(32)),
                     sessions=make_sessionmaker(engine))
    with serving(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        centre = client.post(f"{API}/centres", headers=headers["admin"], json={
            "code": "BURST", "name": "Burst Centre"}).json()
        slots = open_one_day(client, headers["admin"], centre["id"], closes="14:00")
        assert len(slots) == 20
        start = threading.Barrier(50)

        def book(n: int) -> httpx.Response:
            if n < 50:
                start.wait()  # the first fifty leave together; the rest follow at once
            return client.post(f"{API}/appointments", json=person(
                slot_id=slots[n % 20]["id"], name=f"Person {n}", email=f"p{n}@example.org"))

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(book, range(PEOPLE)))

    assert all(r.status_code == 201 for r in answers), {r.status_code for r in answers}
    views = [r.json()["appointment"] for r in answers]
    assert Counter(v["status"] for v in views) == {"booked": 20, "waiting": 180}
    assert sorted(v["position"] for v in views if v["status"] == "waiting") == list(
        range(1, 181))
    assert len({v["starts_at"] for v in views if v["status"] == "booked"}) == 20

    with engine.connect() as db:
        seats = db.execute(text("SELECT capacity, booked FROM appointment_slots")).all()
        per_slot = db.execute(text("SELECT slot_id, count(*) FROM appointments WHERE "
                                   "state = 'booked' GROUP BY slot_id")).all()
    engine.dispose()
    assert sorted(seats) == [(1, 1)] * 20
    assert len(per_slot) == 20 and all(count == 1 for _, count in per_slot)
