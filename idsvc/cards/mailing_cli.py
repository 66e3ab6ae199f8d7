"""`idsvc card mailers`, `idsvc card posted` and `idsvc card suspend-unactivated`
(registered in idsvc/cli.py; `idsvc purge` runs the last one too)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from idsvc.audit.service import Actor
from idsvc.bulk.printing import get_batch
from idsvc.cards import mailers
from idsvc.cards.mailer import Sender
from idsvc.cards.mailing import Upkeep, unactivated_upkeep
from idsvc.clock import utcnow
from idsvc.commands import checked_settings, database, master_key, transaction
from idsvc.config import Settings

CLI_ACTOR = Actor("system", "cli")


def write_private(path: Path, data: bytes) -> None:
    """Mailers show activation codes, names and addresses: only their owner may read them."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_mailers(session: Session, *, settings: Settings, batch_id: int, out: Path) -> int:
    """The batch's mailer letters with new codes, written before the caller commits (no
    codes in the database without their letters)."""
    produced = mailers.produce_mailers(session, batch=get_batch(session, batch_id),
                                       keys=master_key(settings),
                                       sender=Sender.from_settings(settings), actor=CLI_ACTOR)
    write_private(out, produced.pdf)
    return produced.count


def mailers_command(
        batch: Annotated[int, typer.Argument(help="The print batch.")],
        out: Annotated[Path, typer.Option(help="The PDF to write (created owner-only).")],
) -> None:
    """Write the mailer letters of a batch's mailed cards; earlier letters' codes stop working."""
    settings = checked_settings()
    with database(settings) as sessions, transaction(sessions) as session:
        count = write_mailers(session, settings=settings, batch_id=batch, out=out)
    typer.echo(f"print batch {batch}: {count} mailers in {out}")


def posted_command(batch: Annotated[int, typer.Argument(help="The print batch.")]) -> None:
    """Mark a batch's mailers posted: the activation clock of its mailed cards starts."""
    settings = checked_settings()
    with database(settings) as sessions, transaction(sessions) as session:
        count = mailers.batch_posted(session, batch=get_batch(session, batch), actor=CLI_ACTOR)
    typer.echo(f"print batch {batch}: {count} cards posted")


def run_upkeep(settings: Settings) -> Upkeep:
    with database(settings) as sessions, transaction(sessions) as session:
        return unactivated_upkeep(session, now=utcnow(),
                                  activation_days=settings.mailed_activation_days)


def describe(upkeep: Upkeep) -> str:
    return (f"suspended {upkeep.suspended} mailed cards never activated, revoked "
            f"{upkeep.superseded} cards whose renewal was posted 30 days ago")


def suspend_unactivated_command() -> None:
    """Suspend mailed cards not activated within IDSVC_MAILED_ACTIVATION_DAYS of posting, and
    revoke the old card of an online renewal posted 30 days ago. Run daily (or `idsvc purge`)."""
    typer.echo(describe(run_upkeep(checked_settings())))
