"""`idsvc retention ...`: apply the retention rules, shred one resident, report, ledger.

The rules run in batches, one transaction each, so a long first run makes progress that
stays made and never holds the audit log's lock for long; a rerun carries on where an
interrupted one stopped (shredded residents are no longer due).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from idsvc.audit.service import Actor
from idsvc.cards import service as cards
from idsvc.clock import local_date, utcnow
from idsvc.commands import checked_settings, database, master_key, transaction
from idsvc.config import Settings, get_settings
from idsvc.crypto.envelope import MasterKey
from idsvc.retention import ledger, policy
from idsvc.retention import report as reports
from idsvc.retention.shredding import ShredReason, shred_resident

retention_app = typer.Typer(no_args_is_help=True)
ACTOR = Actor("system", "retention")
BATCH = 100


@retention_app.callback()
def _safe_settings() -> None:
    """Crypto-shredding, retention rules and what is kept."""
    checked_settings()  # as for every command that opens the data: unsafe settings stop here


@dataclass(frozen=True)
class PolicyRun:
    residents: int
    applications: int


def _shred_all(sessions: sessionmaker[Session], *, due: Callable[[Session], list[str]],
               reason: ShredReason, keys: Callable[[], MasterKey], total: int,
               echo: Callable[[str], None]) -> int:
    done = 0
    while done < total:
        with transaction(sessions) as session:
            batch = list(dict.fromkeys(due(session)))
            for resident_id in batch:
                shred_resident(session, resident_id, reason, ACTOR, keys=keys())
        if not batch:
            break
        done += len(batch)
        echo(f"  {done}/{total}")
    return done


def run_policy(settings: Settings, *, expired_years: int, applications_days: int,
               dry_run: bool, echo: Callable[[str], None]) -> PolicyRun:
    """Both rules (0 turns one off), as of now; the master key is read only when someone is
    due (it finds the card pseudonyms in the logs)."""
    now = utcnow()
    cutoff = policy.expiry_cutoff(local_date(now, settings.timezone), expired_years)
    before = policy.purge_before(now, applications_days)
    loaded: list[MasterKey] = []

    def keys() -> MasterKey:
        if not loaded:
            loaded.append(master_key(settings))
        return loaded[0]

    with database(settings) as sessions:
        with transaction(sessions) as session:
            residents = policy.count_residents_due(session, cutoff=cutoff) if expired_years else 0
            applications = (policy.count_applications_due(session, before=before)
                            if applications_days else 0)
        verb = "would shred" if dry_run else "shredding"
        if expired_years:
            echo(f"{verb} {residents} residents whose every card expired before "
                 f"{cutoff.isoformat()} ({expired_years} years)")
        if applications_days:
            echo(f"{'would purge' if dry_run else 'purging'} {applications} rejected or "
                 f"abandoned applications untouched since {before:%Y-%m-%d %H:%M}Z "
                 f"({applications_days} days)")
        if dry_run:
            return PolicyRun(residents, applications)
        residents = _shred_all(
            sessions, due=lambda s: policy.residents_due(s, cutoff=cutoff, limit=BATCH),
            reason=ShredReason.EXPIRED, keys=keys, total=residents, echo=echo)
        applications = _shred_all(
            sessions, due=lambda s: [resident for _, resident in
                                     policy.applications_due(s, before=before, limit=BATCH)],
            reason=ShredReason.APPLICATION_PURGED, keys=keys, total=applications, echo=echo)
    return PolicyRun(residents, applications)


@retention_app.command("apply")
def apply(
        expired_years: Annotated[int | None, typer.Option(
            min=0, help="Shred residents whose every card expired more than N years ago "
                        "(0: not this rule). Default: IDSVC_SHRED_AFTER_EXPIRED_YEARS.")
        ] = None,
        applications_days: Annotated[int | None, typer.Option(
            min=0, help="Purge rejected or abandoned applications after N days (0: not this "
                        "rule). Default: IDSVC_PURGE_APPLICATIONS_AFTER_DAYS.")] = None,
        dry_run: Annotated[bool, typer.Option(help="Count only; change nothing.")] = False,
) -> None:
    """Apply the retention rules: shred who is due, in batches, with progress."""
    settings = get_settings()
    run = run_policy(
        settings,
        expired_years=(settings.shred_after_expired_years if expired_years is None
                       else expired_years),
        applications_days=(settings.purge_applications_after_days if applications_days is None
                           else applications_days),
        dry_run=dry_run, echo=typer.echo)
    verb = "would shred" if dry_run else "shredded"
    typer.echo(f"{verb} {run.residents} residents with expired cards and "
               f"{run.applications} applicants never approved")


@retention_app.command("shred")
def shred(card_number: str,
          reason: Annotated[ShredReason, typer.Option(
              help="erasure_request (the resident asked) or deceased.")],
          yes: Annotated[bool, typer.Option(
              "--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Destroy the personal data of a card's holder now; the card verifies revoked."""
    if reason in (ShredReason.EXPIRED, ShredReason.APPLICATION_PURGED):
        typer.secho("error: that reason is the retention rules' own; run `retention apply`.",
                    fg="red", err=True)
        raise typer.Exit(2)
    if not yes:
        typer.confirm("This cannot be undone. Destroy the holder's personal data?",
                      abort=True)
    settings = get_settings()
    with database(settings) as sessions, transaction(sessions) as session:
        card = cards.find_card(session, card_number)
        done = shred_resident(session, card.resident_id, reason, ACTOR,
                              keys=master_key(settings))
    typer.echo(f"shredded the holder of card {card.number}: {done.cards} card versions kept "
               f"as revoked, {done.cards_revoked} revoked now")


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    CSV = "csv"


RENDER = {ReportFormat.TEXT: reports.as_text, ReportFormat.JSON: reports.as_json,
          ReportFormat.CSV: reports.as_csv}


@retention_app.command("report")
def report(fmt: Annotated[ReportFormat, typer.Option(
        "--format", help="text, json or csv.")] = ReportFormat.TEXT) -> None:
    """What personal data is stored, for whom and how old, in counts (audited)."""
    settings = get_settings()
    with database(settings) as sessions, transaction(sessions) as session:
        result = reports.audited_report(session, settings=settings, actor=ACTOR)
    typer.echo(RENDER[fmt](result), nl=False)


@retention_app.command("ledger-export")
def ledger_export(out: Annotated[Path, typer.Option(help="File to write.")]) -> None:
    """Write the shred ledger (opaque resident ids and days) for restores to re-apply."""
    with database(get_settings()) as sessions, transaction(sessions) as session:
        entries = ledger.export_ledger(session)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(ledger.ledger_json(entries))
    typer.echo(f"{len(entries)} ledger entries written to {out}")


@retention_app.command("ledger-apply")
def ledger_apply(file: Path) -> None:
    """After restoring an older backup: shred again everyone a later ledger names."""
    settings = get_settings()
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        typer.secho(f"error: cannot read {file}: {exc.strerror}", fg="red", err=True)
        raise typer.Exit(1) from exc
    with database(settings) as sessions, transaction(sessions) as session:
        entries = ledger.parse_ledger(text)
        again = ledger.reapply_ledger(session, entries, keys=master_key(settings))
    typer.echo(f"{len(entries)} ledger entries; {again} residents shredded again")
