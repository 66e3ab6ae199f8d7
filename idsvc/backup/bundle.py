"""What the sealed stream holds: a gzip-compressed tar of parts, the manifest last.

    keys/<file name>                      each file of the keys directory, as it was
    tables/<table>.<NNNNNN>.jsonl         a table's rows (see `rows`), a few MiB per part,
                                          tables in foreign-key order, rows in key order
    manifest.json                         format, idsvc version, Alembic revision, time,
                                          tables (columns and their kinds, row counts) and
                                          the SHA-256 and row count of every part

The manifest comes last because it holds every part's digest. Anyone with the passphrase
can decrypt the stream (`archive`) and read it with `tar -xz`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

from idsvc.backup.archive import BackupError, SealedReader
from idsvc.backup.rows import RowCodec

FORMAT = 1
MANIFEST = "manifest.json"
KEYS_PREFIX = "keys/"
_KEY_NAME = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"
_TABLE_NAME = r"[a-z0-9_]{1,63}"
_PATH = re.compile(rf"manifest\.json|keys/{_KEY_NAME}|tables/{_TABLE_NAME}\.\d{{6}}\.jsonl")
_MAX_PART = 64 * 1024 * 1024  # parts are written at a few MiB; refuse to inflate more


@dataclass(frozen=True)
class Part:
    path: str
    sha256: str
    rows: int | None = None


@dataclass(frozen=True)
class TableDump:
    name: str
    columns: list[tuple[str, str]]
    rows: int
    parts: list[Part]

    def codec(self) -> RowCodec:
        return RowCodec(self.name, self.columns)


@dataclass(frozen=True)
class Manifest:
    idsvc_version: str
    alembic_revision: str
    created_at: str
    database: str
    data_key: str  # "file", "environment", "left out" or "none": where it came from
    tables: list[TableDump]
    keys: list[Part]
    skipped_tables: list[str] = field(default_factory=list)
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise BackupError(f"This backup has format {raw.get('format')}; this idsvc "
                                  f"reads format {FORMAT}.", code="backup_format")
            tables = [TableDump(name=t["name"], rows=int(t["rows"]),
                                columns=[(str(c), str(k)) for c, k in t["columns"]],
                                parts=[Part(**p) for p in t["parts"]]) for t in raw["tables"]]
            return cls(**{**raw, "tables": tables, "keys": [Part(**p) for p in raw["keys"]]})
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BackupError("The backup's manifest cannot be read.",
                              code="backup_corrupt") from exc

    def parts(self) -> dict[str, Part]:
        found = {part.path: part for part in self.keys}
        for table in self.tables:
            found.update((part.path, part) for part in table.parts)
        return found


def is_key_name(name: str) -> bool:
    return re.fullmatch(_KEY_NAME, name) is not None


def part_path(table: str, number: int) -> str:
    if re.fullmatch(_TABLE_NAME, table) is None:
        raise BackupError(f"The table name {table!r} cannot be backed up.",
                          code="unsupported_table")
    return f"tables/{table}.{number:06d}.jsonl"


class BundleWriter:
    """Adds parts to a tar stream written into `sink` (the sealed writer)."""

    def __init__(self, sink: Any) -> None:
        # Open across add() calls; close() ends the stream.
        self._tar = tarfile.open(fileobj=sink, mode="w|gz",  # noqa: SIM115
                                 format=tarfile.PAX_FORMAT)

    def add(self, path: str, data: bytes, rows: int | None = None) -> Part:
        info = tarfile.TarInfo(path)
        info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
        self._tar.addfile(info, io.BytesIO(data))
        return Part(path, hashlib.sha256(data).hexdigest(), rows)

    def close(self) -> None:
        self._tar.close()


def _members(source: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """Each part's path and content, in the order written; anything else is refused."""
    try:
        with tarfile.open(fileobj=source, mode="r|gz") as tar:
            for member in tar:
                if not member.isfile() or not _PATH.fullmatch(member.name) \
                        or member.size > _MAX_PART:
                    raise BackupError(f"The backup holds an unexpected entry {member.name!r}.",
                                      code="backup_corrupt")
                handle = tar.extractfile(member)
                yield member.name, handle.read() if handle else b""
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError("The backup's content cannot be unpacked.",
                          code="backup_corrupt") from exc


@dataclass(frozen=True)
class Checked:
    """A backup read through once and found whole: its manifest and its key files."""

    manifest: Manifest
    key_files: dict[str, bytes]


def check(reader: SealedReader) -> Checked:
    """Read the whole file, authenticate every chunk and match every part against the
    manifest (digest, row count, nothing missing, nothing extra)."""
    seen: dict[str, Part] = {}
    key_files: dict[str, bytes] = {}
    manifest: Manifest | None = None
    for path, data in _members(reader):
        if manifest is not None or path in seen:
            raise BackupError(f"The backup holds {path} out of place.", code="backup_corrupt")
        if path == MANIFEST:
            manifest = Manifest.from_json(data)
            continue
        rows = data.count(b"\n") if path.startswith("tables/") else None
        seen[path] = Part(path, hashlib.sha256(data).hexdigest(), rows)
        if path.startswith(KEYS_PREFIX):
            key_files[path.removeprefix(KEYS_PREFIX)] = data
    reader.finish()
    if manifest is None:
        raise BackupError("The backup has no manifest.", code="backup_corrupt")
    if seen != manifest.parts():
        raise BackupError("The backup's parts do not match its manifest.",
                          code="backup_corrupt")
    for table in manifest.tables:
        if table.rows != sum(part.rows or 0 for part in table.parts):
            raise BackupError(f"The manifest's row count of {table.name} does not add up.",
                              code="backup_corrupt")
    return Checked(manifest, key_files)


def table_rows(reader: SealedReader, manifest: Manifest
               ) -> Iterator[tuple[TableDump, list[dict[str, Any]]]]:
    """The rows of each table part, decoded, in the order written. Each part is matched
    against the manifest again, in case the file changed since it was checked."""
    tables = {part.path: table for table in manifest.tables for part in table.parts}
    expected = manifest.parts()
    codecs = {table.name: table.codec() for table in manifest.tables}
    for path, data in _members(reader):
        if path == MANIFEST:
            continue
        part = expected.get(path)
        if part is None or hashlib.sha256(data).hexdigest() != part.sha256:
            raise BackupError("The backup file changed while it was being restored.",
                              code="backup_corrupt")
        table = tables.get(path)
        if table is not None:
            codec = codecs[table.name]
            yield table, [codec.decode(line) for line in data.split(b"\n")[:-1]]
    reader.finish()
