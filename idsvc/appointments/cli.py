"""`idsvc appointments ...`: release slots, send reminders, send queued emails."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from idsvc.appointments import releases, upkeep
from idsvc.appointments.context import Context
from idsvc.audit.service import Actor
from idsvc.clock import utcnow
from idsvc.commands import checked_settings, database, master_key
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.notifications.outbox import drain, pending
from idsvc.notifications.smtp import SmtpMailer

appointments_app = typer.Typer(help="Appointments: slot releases, reminders, emails.",
                               no_args_is_help=True)
ACTOR = Actor("system", "appointments")
T = TypeVar("T")


def _run(sessions: sessionmaker[Session], settings: Settings, keys: MasterKey,
         step: Callable[[Session, Context], T]) -> T:
    """One transaction: committed when `step` returns."""
    with sessions.begin() as session:
        return step(session, Context(keys=keys, settings=settings, actor=ACTOR, now=utcnow()))


def send_outbox(settings: Settings, keys: MasterKey, sessions: sessionmaker[Session]) -> str:
    """Send what the outbox holds, when an SMTP host is set; a line for the operator."""
    mailer = SmtpMailer.from_settings(settings)
    if mailer is None:
        with sessions() as session:
            return f"{pending(session)} emails wait: set IDSVC_SMTP_HOST to send them"
    return f"sent {drain(sessions, keys, mailer, limit=10_000)} emails"


@appointments_app.command("release")
def release(every: Annotated[float | None, typer.Option(
        help="Seconds between runs; runs once when unset.")] = None) -> None:
    """Make the slots ahead and open those the release rule says: waitlist first, the rest
    bookable. Safe to run as often as you like (each run opens only what is due)."""
    settings = checked_settings()
    keys = master_key(settings)
    with database(settings) as sessions:
        while True:
            report = _run(sessions, settings, keys, releases.release)
            typer.echo(f"made {report.created} slots, released {report.released}, "
                       f"{report.assigned} given to the waitlist")
            typer.echo(send_outbox(settings, keys, sessions))
            if every is None:
                return
            time.sleep(every)


@appointments_app.command("remind")
def remind() -> None:
    """Email everyone booked for tomorrow (once each); run daily."""
    settings = checked_settings()
    keys = master_key(settings)
    with database(settings) as sessions:
        typer.echo(f"{_run(sessions, settings, keys, upkeep.remind)} reminders queued")
        typer.echo(send_outbox(settings, keys, sessions))


@appointments_app.command("send")
def send() -> None:
    """Send the queued emails now (the app's processes also do it every few seconds)."""
    settings = checked_settings()
    with database(settings) as sessions:
        typer.echo(send_outbox(settings, master_key(settings), sessions))


def purge_appointments(settings: Settings) -> int:
    """For `idsvc purge`: past appointments and slots; the number of appointments deleted."""
    with database(settings) as sessions, sessions.begin() as session:
        return upkeep.purge(session, settings=settings, now=utcnow(), actor=ACTOR)
