"""`idsvc backup` and `idsvc restore`, registered on the main command in idsvc/cli.py."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from idsvc.backup.archive import BackupError, Passphrase
from idsvc.backup.bundle import Manifest
from idsvc.backup.dump import write_backup
from idsvc.backup.restore import check_backup, restore
from idsvc.commands import checked_settings
from idsvc.errors import DomainError
from idsvc.retention.ledger import parse_ledger

PASSPHRASE_ENV = "IDSVC_BACKUP_PASSPHRASE"

PassphraseFile = Annotated[Path | None, typer.Option(
    "--passphrase-file", help=f"File holding the passphrase (owner-only); else ${PASSPHRASE_ENV}"
                              ", else a prompt.")]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg="red", err=True)
    return typer.Exit(1)


def _passphrase(path: Path | None, *, confirm: bool) -> str:
    """From the file, the environment or a prompt, never from the command line (where
    every user of the host could read it)."""
    if path is not None:
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise _fail(f"{path} is readable by other users; run: chmod 600 {path}")
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise _fail(f"cannot read {path}: {exc.strerror}") from exc
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if sys.stdin.isatty():
        return typer.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm)
    raise _fail(f"no passphrase: give --passphrase-file FILE or set {PASSPHRASE_ENV}")


def _database_error(exc: SQLAlchemyError) -> str:
    """Name the failure without the driver's text, which may quote a row's values."""
    cause = type(getattr(exc, "orig", None) or exc).__name__
    hint = (": is IDSVC_DATABASE_URL right and the database up?"
            if isinstance(exc, OperationalError) else "")
    return f"the database refused ({cause}){hint}"


def _describe(manifest: Manifest) -> None:
    typer.echo(f"backup of {manifest.created_at} from {manifest.database}, idsvc "
               f"{manifest.idsvc_version}, schema {manifest.alembic_revision}")
    for table in manifest.tables:
        typer.echo(f"  {table.name}: {table.rows} rows")
    typer.echo(f"  key files: {', '.join(p.path.split('/', 1)[1] for p in manifest.keys) or 'none'}"
               f" (data key: {manifest.data_key})")


def backup(
        out: Annotated[Path | None, typer.Option(
            help="The backup file to create (never overwritten; created owner-only).")] = None,
        check: Annotated[Path | None, typer.Option(
            help="Decrypt and verify this backup file instead; restores nothing.")] = None,
        passphrase_file: PassphraseFile = None,
        without_data_key: Annotated[bool, typer.Option(
            "--without-data-key", help="Leave the master data key out (the city keeps it "
                                       "apart); restoring then needs it in place.")] = False,
) -> None:
    """Back up the database and the keys directory into one encrypted file."""
    if (out is None) == (check is None):
        raise _fail("give either --out FILE (make a backup) or --check FILE (verify one)")
    try:
        if out is not None:
            manifest = write_backup(checked_settings(), out=out,
                                    passphrase=_passphrase(passphrase_file, confirm=True),
                                    include_data_key=not without_data_key,
                                    progress=lambda line: typer.echo(line, err=True))
            typer.echo(f"wrote {out}")
        elif check is not None:
            secret = Passphrase(_passphrase(passphrase_file, confirm=False))
            manifest = check_backup(check, secret).manifest
            typer.echo("ok: every part authenticates and matches the manifest")
    except BackupError as exc:
        raise _fail(f"{exc.message} ({exc.code})") from exc
    except SQLAlchemyError as exc:
        raise _fail(_database_error(exc)) from exc
    _describe(manifest)


def restore_command(
        file: Annotated[Path, typer.Argument(help="The backup file.")],
        passphrase_file: PassphraseFile = None,
        shred_ledger: Annotated[Path | None, typer.Option(
            help="The live system's shred ledger (`idsvc retention ledger-export`): residents "
                 "shredded after the backup are shredded again before the restore commits.",
        )] = None,
) -> None:
    """Restore a backup into the configured (empty) database and keys directory."""
    settings = checked_settings()
    try:
        ledger = parse_ledger(shred_ledger.read_text()) if shred_ledger else []
    except OSError as exc:
        raise _fail(f"Cannot read {shred_ledger}: {exc.strerror}; nothing was restored") from exc
    except DomainError as exc:
        raise _fail(f"{exc.message} ({exc.code}); nothing was restored") from exc
    try:
        restored = restore(settings, archive=file,
                           passphrase=_passphrase(passphrase_file, confirm=False),
                           progress=lambda line: typer.echo(line, err=True), ledger=ledger)
    except DomainError as exc:
        raise _fail(f"{exc.message} ({exc.code}); nothing was restored") from exc
    except SQLAlchemyError as exc:
        raise _fail(_database_error(exc) + "; nothing was restored") from exc
    _describe(restored.manifest)
    typer.echo(f"key files written: {', '.join(restored.keys_written) or 'none'}; "
               f"already present: {', '.join(restored.keys_present) or 'none'}")
    typer.echo(f"audit log: ok, {restored.audit_events} events")
    if shred_ledger:
        typer.echo(f"shred ledger: {restored.reshredded} resident(s) shredded again")
    if restored.behind:
        typer.echo(f"the schema is at the backup's revision "
                   f"{restored.manifest.alembic_revision}: run `idsvc db upgrade` to bring it "
                   f"to {restored.behind}")
    typer.echo("restored: every row count matches the backup. Staff, partner desks and "
               "residents sign in again (sessions are not backed up).")
