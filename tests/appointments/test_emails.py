"""Emails: in the resident's language, nothing personal in the subject, through SMTP."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import text

from idsvc.app import create_app
from idsvc.appointments import upkeep
from idsvc.appointments.context import Context
from idsvc.audit.service import Actor
from idsvc.clock import utcnow
from idsvc.crypto.envelope import MasterKey
from idsvc.notifications.outbox import drain, pending
from idsvc.notifications.smtp import SmtpMailer
from tests.appointments.conftest import API, open_one_day, person
from tests.conftest import settings_for
from tests.live import committed_staff


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_confirmation_reaches_the_smtp_server_in_the_residents_language(
        client, app, slots, smtp_server, database):
    controller, inbox = smtp_server
    r = client.post(f"{API}/appointments", json=person(
        slot_id=slots[0]["id"], name="Amaru Quispe", language="spa"))
    code = r.json()["code"]
    mailer = SmtpMailer(controller.hostname, controller.port, "Riverton ID <id@riverton.example>")
    assert drain(app.state.sessionmaker, database.master_key, mailer) == 1
    [(recipients, raw)] = inbox.messages
    assert recipients == ["amaru@example.org"]
    text = raw.decode()
    subject = next(line for line in text.splitlines() if line.startswith("Subject:"))
    assert "Quispe" not in subject and "Amaru" not in subject and "Central" not in subject
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Su cita — City of Riverton ID"
    assert message["Message-ID"].endswith("@riverton.example>")
    body = message.get_content()
    assert code in body and "Central" in body and "Su cita está reservada." in body
    with app.state.sessionmaker() as session:
        assert pending(session) == 0


def test_a_down_smtp_server_never_fails_a_booking(client, app, slots, database):
    r = client.post(f"{API}/appointments", json=person(slot_id=slots[0]["id"]))
    assert r.status_code == 201
    mailer = SmtpMailer("127.0.0.1", _free_port(), "id@riverton.example")
    assert drain(app.state.sessionmaker, database.master_key, mailer) == 0
    with app.state.sessionmaker() as session:
        assert pending(session) == 1  # kept, to be tried again later


def test_each_kind_of_email_in_its_language(client, app, slots, outbox, database):
    english = client.post(f"{API}/appointments", json=person(
        slot_id=slots[0]["id"], language="eng", email="en@example.org")).json()
    [confirmation] = outbox.drain()
    assert confirmation.subject == "Your appointment — City of Riverton ID"
    assert "Your appointment is booked." in confirmation.body
    assert english["code"] in confirmation.body

    client.post(f"{API}/appointments/move", json={"code": english["code"],
                                                   "slot_id": slots[1]["id"]})
    [moved] = outbox.drain()
    assert "Your appointment was moved." in moved.body and english["code"] not in moved.body

    with app.state.sessionmaker() as session:
        ctx = Context(keys=database.master_key, settings=database.settings,
                      actor=Actor.system(), now=utcnow())
        assert upkeep.remind(session, ctx) == 1
        assert upkeep.remind(session, ctx) == 0  # once only
        session.commit()
    [reminder] = outbox.drain()
    assert "your appointment is tomorrow" in reminder.body

    client.post(f"{API}/appointments/cancel", json={"code": english["code"]})
    [cancelled] = outbox.drain()
    assert "Your appointment is cancelled." in cancelled.body

    no_email = client.post(f"{API}/appointments", json=person(
        slot_id=slots[2]["id"], email=None, phone="+1 555 010 2030"))
    assert no_email.status_code == 201 and outbox.drain() == []


def test_past_appointments_are_purged(client, app, slots, database, connection):
    client.post(f"{API}/appointments", json=person(slot_id=slots[0]["id"]))
    with app.state.sessionmaker() as session:
        def purge(days: int) -> int:
            return upkeep.purge(session, settings=database.settings, actor=Actor.system(),
                                now=utcnow() + timedelta(days=days))

        assert purge(2) == 0  # the day after the appointment: kept two days
        assert purge(4) == 1
        assert connection.execute(text("SELECT count(*) FROM appointments")).scalar() == 0
        session.commit()


@pytest.mark.slow
def test_the_app_sends_queued_emails_in_the_background(scratch_url, tmp_path, smtp_server):
    """Off the request path: the booking answers at once, the app's sender thread mails."""
    controller, inbox = smtp_server
    headers = committed_staff(scratch_url, tmp_path / "keys")
    settings = settings_for(scratch_url, tmp_path / "keys").model_copy(update={
        "smtp_host": controller.hostname, "smtp_port": controller.port,
        "outbox_poll_seconds": 0.1})
    with TestClient(create_app(settings, master_key=MasterKey.from_secret(
            os.urandom(32)))) as client:
        centre = client.post(f"{API}/centres", headers=headers["admin"], json={
            "code": "MAIL", "name": "Mail Centre"}).json()
        slots = open_one_day(client, headers["admin"], centre["id"], languages=("eng", "fra"))
        r = client.post(f"{API}/appointments", json=person(slot_id=slots[0]["id"],
                                                           language="fra"))
        assert r.status_code == 201
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    [(recipients, raw)] = inbox.messages
    assert recipients == ["amaru@example.org"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Votre rendez-vous — City of Riverton ID"
    assert r.json()["code"] in message.get_content()
