"""`idsvc appointments release|remind|send` and the appointments part of `idsvc purge`."""

from __future__ import annotations

import pytest

from idsvc.appointments.schedule import set_schedule
from idsvc.appointments.schemas import ScheduleUpdate
from idsvc.audit.service import Actor
from idsvc.centres.service import find_centre
from idsvc.config import get_settings
from idsvc.db import make_engine, make_sessionmaker
from tests.appointments.conftest import schedule_body, tomorrow
from tests.commands import idsvc_commands


@pytest.fixture
def run(scratch_url, tmp_path, monkeypatch):
    monkeypatch.delenv("IDSVC_SMTP_HOST", raising=False)
    invoke = idsvc_commands(monkeypatch, database_url=scratch_url, demo="true",
                            keys_dir=str(tmp_path / "keys"))
    yield lambda *args, code=0: invoke(*args, code=code).output
    get_settings.cache_clear()


def test_release_is_idempotent_and_purge_includes_appointments(run, scratch_url):
    run("db", "upgrade")
    run("keys", "generate")
    run("centre", "create", "NORTH", "North Centre")
    engine = make_engine(scratch_url)
    with make_sessionmaker(engine)() as session:
        centre = find_centre(session, code="NORTH")
        set_schedule(session, centre_id=centre.id, actor=Actor.system(),
                     update=ScheduleUpdate(**schedule_body(weekday=tomorrow().weekday())))
        session.commit()
    engine.dispose()

    first = run("appointments", "release")
    assert "released 0" not in first and "0 given to the waitlist" in first
    assert "emails wait: set IDSVC_SMTP_HOST" in first
    assert "made 0 slots, released 0, 0 given" in run("appointments", "release")
    assert "0 reminders queued" in run("appointments", "remind")
    assert "purged 0 past appointments" in run("purge")
