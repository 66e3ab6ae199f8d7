"""`idsvc restore`: a checked backup into an empty database and keys directory.

The order is what makes a failure leave nothing behind: the whole file is read and
authenticated first; the target is checked (empty database, no key file that differs);
the schema is created at the backup's revision (`idsvc db upgrade` then brings it to
this idsvc's); then one transaction loads every row, checks row counts and the audit
chain, writes the key files and checks that the master key opens the restored records.
Only then does it commit. Any failure rolls the rows back and removes the key files
written; at most an empty schema stays behind, so the same target can be used again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, MetaData, func, insert, inspect, select, text
from sqlalchemy import table as table_named
from sqlmodel import Session

from idsvc import migrations
from idsvc.audit.service import record, verify_log
from idsvc.backup import keydir
from idsvc.backup.archive import BackupError, Passphrase, SealedReader
from idsvc.backup.bundle import Checked, Manifest, check, table_rows
from idsvc.backup.dump import CLI_ACTOR, VERSION_TABLE
from idsvc.config import Settings
from idsvc.crypto.envelope import DATA_KEY_FILE, DecryptionFailed, MasterKey, load_master_key
from idsvc.crypto.keyfiles import KeyFileError
from idsvc.db import make_engine, read_only
from idsvc.residents.models import Resident
from idsvc.residents.service import data_key_of
from idsvc.retention.ledger import LedgerEntry, reapply_ledger
from idsvc.retention.models import ShredRecord

Progress = Callable[[str], None]

FRESH_DATABASE = ("Restore only into an empty database: create a new one (PostgreSQL: "
                  "`createdb NAME`; SQLite: a new file name), point IDSVC_DATABASE_URL at it "
                  "and run `idsvc restore` without running `idsvc db upgrade` first.")


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    keys_written: list[str]
    keys_present: list[str]
    audit_events: int
    behind: str | None  # this idsvc's head revision, when the backup's schema is older
    reshredded: int = 0  # residents shredded again from the live system's ledger


def _quiet(_: str) -> None:
    return None


@contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise BackupError(f"Cannot read {path}: {exc.strerror}.", code="backup_missing") from exc
    with handle:
        yield handle


def check_backup(path: Path, passphrase: Passphrase) -> Checked:
    """Decrypt and authenticate the whole file and match its parts to the manifest."""
    with _opened(path) as handle:
        return check(SealedReader(handle, passphrase))


def restore(settings: Settings, *, archive: Path, passphrase: str,
            progress: Progress = _quiet, ledger: Sequence[LedgerEntry] = ()) -> Restored:
    """`ledger`: the shred ledger exported from the live system (`idsvc retention
    ledger-export`), so residents shredded after this backup was made are shredded again
    in the same transaction, before anything is committed."""
    secret = Passphrase(passphrase)
    checked = check_backup(archive, secret)  # the whole file, before anything is written
    manifest = checked.manifest
    revision = manifest.alembic_revision
    ancestors = _ancestors(settings, manifest)
    _require_data_key(settings, checked)
    to_write, present = keydir.plan(settings, checked.key_files)
    engine = make_engine(settings.database_url)
    try:
        with read_only(engine).connect() as conn:
            _require_empty(conn, ancestors)
        migrations.upgrade(settings.database_url, revision, engine=engine)
        written: list[Path] = []
        try:
            with engine.begin() as conn:
                _require_empty(conn, ancestors)  # nobody wrote in between
                _load(conn, archive, secret, manifest, progress)
                _fix_sequences(conn)
                events = _check_loaded(conn, manifest)
                _record_restore(conn, manifest)
                written = keydir.write(to_write)
                keys = _check_data_key(conn, settings)
                reshredded = _reapply_ledger(conn, ledger, keys) if ledger else 0
        except BaseException:
            keydir.remove(written)
            raise
    finally:
        engine.dispose()
    head = _script(settings).get_current_head()
    return Restored(manifest, [path.name for path in written], present, events,
                    behind=head if head != revision else None, reshredded=reshredded)


def _script(settings: Settings) -> ScriptDirectory:
    return ScriptDirectory.from_config(migrations.alembic_config(settings.database_url))


def _ancestors(settings: Settings, manifest: Manifest) -> set[str]:
    """The backup's revision and those before it; refuses one this idsvc does not know."""
    revision = manifest.alembic_revision
    try:
        return {rev.revision for rev in _script(settings).iterate_revisions(revision, "base")}
    except CommandError as exc:
        raise BackupError(f"The backup's schema revision {revision} is unknown to this idsvc: "
                          f"restore it with idsvc {manifest.idsvc_version} or later.",
                          code="unknown_revision") from exc


def _require_data_key(settings: Settings, checked: Checked) -> None:
    """A backup made without the master key needs the city's copy in place first."""
    if DATA_KEY_FILE in checked.key_files or settings.data_key \
            or (settings.keys_dir / DATA_KEY_FILE).exists():
        return
    raise BackupError("This backup does not hold the data-encryption key "
                      f"({checked.manifest.data_key}): set IDSVC_DATA_KEY, or put the city's "
                      f"{DATA_KEY_FILE} into {settings.keys_dir}, then restore.",
                      code="data_key_missing")


def _require_empty(conn: Connection, ancestors: set[str]) -> None:
    names = inspect(conn).get_table_names()
    filled = [name for name in names if name != VERSION_TABLE and conn.execute(
        select(func.count()).select_from(table_named(name))).scalar_one()]
    if filled:
        shown = ", ".join(filled[:5]) + (", ..." if len(filled) > 5 else "")
        raise BackupError(f"The target database already holds data (tables {shown}). "
                          + FRESH_DATABASE, code="target_not_empty")
    if VERSION_TABLE in names:
        current = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        if current is not None and current not in ancestors:
            raise BackupError(f"The target database's schema is at revision {current}, "
                              "which the backup's schema does not contain. " + FRESH_DATABASE,
                              code="target_schema_mismatch")


def _load(conn: Connection, archive: Path, secret: Passphrase, manifest: Manifest,
          progress: Progress) -> None:
    """Insert every row, table by table in the order written (foreign keys first)."""
    metadata = MetaData()
    metadata.reflect(bind=conn)
    targets = {}
    for dump in manifest.tables:
        target = metadata.tables.get(dump.name)
        if target is None or any(name not in target.c for name, _ in dump.columns):
            raise BackupError(f"Table {dump.name} of the backup does not fit the schema at "
                              f"revision {manifest.alembic_revision}.", code="schema_mismatch")
        targets[dump.name] = target
    loaded: dict[str, int] = {}
    with _opened(archive) as handle:
        for dump, rows in table_rows(SealedReader(handle, secret), manifest):
            if rows:
                conn.execute(insert(targets[dump.name]), rows)
            loaded[dump.name] = loaded.get(dump.name, 0) + len(rows)
            if loaded[dump.name] == dump.rows:
                progress(f"{dump.name}: {dump.rows} rows")


def _fix_sequences(conn: Connection) -> None:
    """PostgreSQL hands out ids from sequences that the explicit ids just loaded did not
    move: set each past the largest id, or the next insert collides."""
    if conn.dialect.name != "postgresql":
        return  # SQLite takes the next rowid (and AUTOINCREMENT's counter) from the rows
    quote = conn.dialect.identifier_preparer.quote
    inspector = inspect(conn)
    for table_name in inspector.get_table_names():
        for column in inspector.get_pk_constraint(table_name)["constrained_columns"]:
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": quote(table_name), "c": column}).scalar()
            if sequence:
                conn.execute(text(f"SELECT setval(:s, COALESCE((SELECT MAX({quote(column)}) "
                                  f"FROM {quote(table_name)}), 0) + 1, false)"),
                             {"s": sequence})


def _check_loaded(conn: Connection, manifest: Manifest) -> int:
    """Row counts as the manifest says, and an audit chain that verifies; the number of
    audit events."""
    for dump in manifest.tables:
        count = conn.execute(select(func.count()).select_from(table_named(dump.name))
                             ).scalar_one()
        if count != dump.rows:
            raise BackupError(f"Table {dump.name}: {count} rows restored, the backup has "
                              f"{dump.rows}.", code="restore_mismatch")
    with Session(bind=conn) as session:
        report = verify_log(session)
    if not report.ok:
        raise BackupError(f"The restored audit log does not verify at event {report.broken_at}"
                          f" ({report.problem}); it was already so when the backup was taken.",
                          code="audit_chain_broken")
    return report.events


def _record_restore(conn: Connection, manifest: Manifest) -> None:
    with Session(bind=conn) as session:
        record(session, actor=CLI_ACTOR, action="backup.restore", subject_type="database",
               subject_id=manifest.created_at,
               details={"revision": manifest.alembic_revision,
                        "idsvc_version": manifest.idsvc_version,
                        "from": manifest.database})


def _reapply_ledger(conn: Connection, ledger: Sequence[LedgerEntry], keys: MasterKey) -> int:
    """Destroy again the data of residents shredded after the backup was made."""
    if not inspect(conn).has_table(ShredRecord.__tablename__):
        raise BackupError("This backup predates the shred ledger: restore it without "
                          "--shred-ledger, run `idsvc db upgrade`, then `idsvc retention "
                          "ledger-apply FILE` before opening the service.",
                          code="ledger_needs_upgrade")
    with Session(bind=conn) as session:
        again = reapply_ledger(session, ledger, keys=keys)
        session.flush()
    return again


def _check_data_key(conn: Connection, settings: Settings) -> MasterKey:
    """The master key the service will load must open the restored records' data keys."""
    row = conn.execute(select(Resident.id, Resident.wrapped_key)  # type: ignore[call-overload]
                       .where(Resident.wrapped_key != b"")  # shredded rows hold no key
                       .limit(1)).first()
    try:
        keys = load_master_key(keys_dir=settings.keys_dir, encoded=settings.data_key)
    except (KeyFileError, ValueError) as exc:
        raise BackupError(f"No usable data-encryption key after the restore: {exc}",
                          code="data_key_missing") from exc
    if row is None:
        return keys
    try:
        data_key_of(Resident(id=row.id, wrapped_key=row.wrapped_key), keys)
    except DecryptionFailed as exc:
        raise BackupError("The data-encryption key does not open the restored records: "
                          "IDSVC_DATA_KEY (or data.key) is not the key of this backup.",
                          code="data_key_mismatch") from exc
    return keys
