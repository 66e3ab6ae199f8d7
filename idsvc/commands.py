"""What every `idsvc` command that opens the data does first, shared by the sub-commands.

Settings are checked (unsafe settings or exposed key files end the command before
anything is read or written, idsvc/crypto/startup.py) and the master key is loaded with
a one-line error instead of a traceback; a command's own engine is disposed when it ends,
and a domain error rolls its transaction back and exits 1 with the error's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from idsvc.config import Settings, get_settings
from idsvc.crypto.envelope import MasterKey, load_master_key
from idsvc.crypto.keyfiles import KeyFileError
from idsvc.crypto.startup import StartupRefused, prepare
from idsvc.db import make_engine, make_sessionmaker
from idsvc.errors import DomainError


def checked_settings(settings: Settings | None = None, *,
                     require_encrypted_keys: bool = True) -> Settings:
    """The settings, refused (exit code 2) when unsafe, with the key passphrase in place."""
    settings = settings or get_settings()
    try:
        prepare(settings, require_encrypted_keys=require_encrypted_keys)
    except StartupRefused as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    return settings


def master_key(settings: Settings, *, create: bool = False) -> MasterKey:
    """The data-encryption master key, or exit code 1 saying what is missing."""
    try:
        return load_master_key(keys_dir=settings.keys_dir, encoded=settings.data_key,
                               create=create)
    except KeyFileError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@contextmanager
def database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database for the length of one command."""
    engine = make_engine(settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success; a domain error rolls back and exits 1 with its message."""
    with sessions() as session:
        try:
            yield session
            session.commit()
        except DomainError as exc:
            session.rollback()
            typer.secho(f"error: {exc.message} ({exc.code})", fg="red", err=True)
            raise typer.Exit(1) from exc
