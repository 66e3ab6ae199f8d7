"""Table rows as JSON lines that SQLite and PostgreSQL both read back the same.

Each column gets a kind from its database type; a row is one JSON array in column order.
Bytes travel as base64, dates and times of day in ISO form, and instants as ISO times in
UTC with microseconds (idsvc stores only UTC instants, see `idsvc.db.UTCDateTime`; SQLite
hands them back without a zone), so the audit chain's hashes, which cover those exact
strings, still match.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Column

from idsvc.backup.archive import BackupError

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def _timestamp_out(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _timestamp_in(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_typed(value, str))
    if parsed.tzinfo is None:
        raise ValueError("a time without its zone")
    return parsed.astimezone(UTC)


def _float_in(value: Any) -> float:
    if type(value) not in (int, float):  # JSON writes 2.0 as 2.0, but accept 2
        raise ValueError("expected a number")
    return float(value)


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise ValueError(f"expected {kind.__name__}")
    return value


# kind: (python type of the column, encode, decode); order matters, as bool is an int and
# a datetime is a date.
KINDS: dict[str, tuple[type, Encoder, Decoder]] = {
    "boolean": (bool, bool, lambda v: _typed(v, bool)),
    "integer": (int, int, lambda v: _typed(v, int)),
    "float": (float, float, _float_in),
    "text": (str, str, lambda v: _typed(v, str)),
    "bytes": (bytes, lambda v: base64.b64encode(bytes(v)).decode("ascii"),
              lambda v: base64.b64decode(_typed(v, str), validate=True)),
    "timestamp": (datetime, _timestamp_out, _timestamp_in),
    "date": (date, lambda v: v.isoformat(), lambda v: date.fromisoformat(_typed(v, str))),
    "time": (time, lambda v: v.isoformat(), lambda v: time.fromisoformat(_typed(v, str))),
}


def kind_of(column: Column[Any]) -> str:
    """The kind a column's values travel as; a type this file format cannot carry is
    refused rather than written in a form that might not come back the same."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = None
    for kind, (accepted, _, _) in KINDS.items():
        if python_type is not None and issubclass(python_type, accepted):
            return kind
    raise BackupError(f"Column {column.table.name}.{column.name} has a type backups do not "
                      f"carry ({column.type}).", code="unsupported_column")


class RowCodec:
    """Encodes and decodes the rows of one table, given its columns' kinds."""

    def __init__(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        unknown = [kind for _, kind in columns if kind not in KINDS]
        if unknown:
            raise BackupError(f"Table {table} has columns of unknown kinds {unknown}.",
                              code="backup_corrupt")
        self.table = table
        self.names = [name for name, _ in columns]
        self._encoders = [KINDS[kind][1] for _, kind in columns]
        self._decoders = [KINDS[kind][2] for _, kind in columns]

    def encode(self, row: Sequence[Any]) -> bytes:
        values = [None if value is None else encode(value)
                  for encode, value in zip(self._encoders, row, strict=True)]
        return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    def decode(self, line: bytes) -> dict[str, Any]:
        try:
            values = json.loads(line)
            if not isinstance(values, list) or len(values) != len(self.names):
                raise ValueError("not a row of this table")
            return {name: None if value is None else decode(value)
                    for name, decode, value in zip(self.names, self._decoders, values,
                                                   strict=True)}
        except (ValueError, TypeError, binascii.Error) as exc:
            raise BackupError(f"A row of table {self.table} cannot be read back: {exc}.",
                              code="backup_corrupt") from exc
