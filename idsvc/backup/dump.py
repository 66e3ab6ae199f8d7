"""`idsvc backup`: one consistent snapshot of every table and the key files, sealed.

Tables are read from the database itself (reflected), not from this code's models, so
the backup describes the schema at the database's own Alembic revision and restores with
any idsvc that knows that revision. Login sessions are left out: they are short-lived
bearer credentials, and a restored service should make everyone sign in again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, Table, inspect, select, text

from idsvc.audit.service import Actor, record
from idsvc.backup import keydir
from idsvc.backup.archive import BackupError, Passphrase, SealedWriter, check_passphrase
from idsvc.backup.bundle import (
    KEYS_PREFIX,
    MANIFEST,
    BundleWriter,
    Manifest,
    TableDump,
    part_path,
)
from idsvc.backup.rows import RowCodec, kind_of
from idsvc.clock import utcnow
from idsvc.config import Settings
from idsvc.db import make_engine, make_sessionmaker, read_only
from idsvc.partners.models import PartnerSession
from idsvc.residents.models import ResidentSession
from idsvc.staff.models import StaffSession

VERSION_TABLE = "alembic_version"
SKIPPED_TABLES = (StaffSession.__tablename__, PartnerSession.__tablename__,
                  ResidentSession.__tablename__)
CLI_ACTOR = Actor("system", "cli")
PART_BYTES = 4 * 1024 * 1024  # rows are buffered in memory up to this much per part
_FETCH = 2000

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def write_backup(settings: Settings, *, out: Path, passphrase: str,
                 include_data_key: bool = True, progress: Progress = _quiet) -> Manifest:
    """Write the backup to `out`, a new file only its owner may read; on any failure the
    partial file is removed."""
    check_passphrase(passphrase)
    engine = make_engine(settings.database_url)
    try:
        _require_schema(engine)
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise BackupError(f"{out} already exists; backups never overwrite a file.",
                              code="backup_exists") from exc
        try:
            with os.fdopen(fd, "wb") as sink:
                _record_backup(engine, include_data_key=include_data_key)
                sealed = SealedWriter(sink, Passphrase(passphrase))
                bundle = BundleWriter(sealed)
                manifest = _dump(engine, settings, bundle, include_data_key=include_data_key,
                                 progress=progress)
                bundle.add(MANIFEST, manifest.to_json())
                bundle.close()
                sealed.close()
                sink.flush()
                os.fsync(sink.fileno())
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    finally:
        engine.dispose()
    return manifest


def _require_schema(engine: Engine) -> None:
    with read_only(engine).connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            raise BackupError("The database has no idsvc schema: there is nothing to back up.",
                              code="no_schema")


def _record_backup(engine: Engine, *, include_data_key: bool) -> None:
    """Taking every record at once is audited, and committed first, so an attempt that
    fails later is still on record (and a successful backup holds its own event)."""
    with make_sessionmaker(engine)() as session:
        record(session, actor=CLI_ACTOR, action="backup.create", subject_type="database",
               subject_id="backup", details={"data_key": include_data_key})
        session.commit()


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction that sees the database as of its first read: REPEATABLE
    READ on PostgreSQL; on SQLite in WAL mode every read transaction is such a snapshot."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
        return
    with read_only(engine).connect() as conn, conn.begin():
        yield conn


def _dump(engine: Engine, settings: Settings, bundle: BundleWriter, *, include_data_key: bool,
          progress: Progress) -> Manifest:
    with _snapshot(engine) as conn:
        created_at = utcnow()
        revision = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
        # Read after the snapshot began: a key the snapshot names was written before its row
        # was committed, so its file is already there.
        files, data_key = keydir.collect(settings, include_data_key=include_data_key)
        keys = [bundle.add(KEYS_PREFIX + name, data) for name, data in files.items()]
        metadata = MetaData()
        metadata.reflect(bind=conn)
        tables, skipped = [], []
        for table in metadata.sorted_tables:
            if table.name == VERSION_TABLE:
                continue
            if table.name in SKIPPED_TABLES:
                skipped.append(table.name)
                continue
            dumped = _dump_table(conn, table, bundle)
            progress(f"{table.name}: {dumped.rows} rows")
            tables.append(dumped)
    return Manifest(idsvc_version=version("idsvc"), alembic_revision=revision,
                    created_at=created_at.isoformat(timespec="seconds"),
                    database=engine.dialect.name, data_key=data_key, tables=tables,
                    keys=keys, skipped_tables=skipped)


def _dump_table(conn: Connection, table: Table, bundle: BundleWriter) -> TableDump:
    columns = [(column.name, kind_of(column)) for column in table.columns]
    codec = RowCodec(table.name, columns)
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execute(select(table).order_by(*order), execution_options={"yield_per": _FETCH})
    parts, buffer, rows, total = [], bytearray(), 0, 0
    for row in result:
        buffer += codec.encode(row)
        rows += 1
        if len(buffer) >= PART_BYTES:
            parts.append(bundle.add(part_path(table.name, len(parts)), bytes(buffer), rows))
            total, buffer, rows = total + rows, bytearray(), 0
    if rows:
        parts.append(bundle.add(part_path(table.name, len(parts)), bytes(buffer), rows))
        total += rows
    return TableDump(table.name, columns, total, parts)
