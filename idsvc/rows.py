"""Many rows into a table in one statement: COPY on PostgreSQL, one executemany elsewhere.

For bulk work (an import batch writes thousands of rows into each of several tables),
where building an ORM object per row would cost more than everything else the row needs.
Rows are plain tuples in the order of `Columns.names`; `Columns.row` fills in the
defaults the models declare, so a row written here is the row the ORM would write.
COPY runs in PostgreSQL's binary format: a portrait goes over as its bytes, where the
text format would spell every byte out in hex, in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

# PostgreSQL's name of each column type the models use, for binary COPY.
_BINARY_TYPES = {"VARCHAR": "text", "TEXT": "text", "INTEGER": "int4", "BIGINT": "int8",
                 "SMALLINT": "int2", "BOOLEAN": "bool", "BYTEA": "bytea", "DATE": "date",
                 "TIMESTAMP WITH TIME ZONE": "timestamptz", "FLOAT": "float8"}


def _binary_type(column: Column) -> str:
    name = column.type.compile(dialect=postgresql.dialect()).split("(")[0]
    return _BINARY_TYPES[name]


class Columns:
    """The columns of a model's table that bulk rows give, in order, with their defaults."""

    def __init__(self, model: type[SQLModel], *, skip: tuple[str, ...] = ("id",)) -> None:
        self.table: Table = model.__table__  # type: ignore[attr-defined]
        columns = [c for c in self.table.columns if c.name not in skip]
        self.names = tuple(c.name for c in columns)
        self._known = frozenset(self.names)
        self._defaults = {c.name: c.default.arg for c in columns
                          if c.default is not None and not callable(c.default.arg)}
        self._required = frozenset(c.name for c in columns
                                   if not c.nullable and c.name not in self._defaults)
        self.binary_types = [_binary_type(c) for c in columns]

    def row(self, **values: Any) -> tuple[Any, ...]:
        """The row of `values`, with every other column at its model default (or NULL).
        Times must be aware UTC, as the models keep them."""
        unknown = values.keys() - self._known
        missing = self._required - values.keys()
        if unknown or missing:
            raise ValueError(f"{self.table.name}: unknown {sorted(unknown)}, "
                             f"missing {sorted(missing)}")
        for value in values.values():
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError("Naive datetimes are not stored: pass an aware UTC datetime.")
        return tuple(values[name] if name in values else self._defaults.get(name)
                     for name in self.names)


def insert_rows(session: Session, columns: Columns, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert `rows` (made by `columns.row`) in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        quote = connection.dialect.identifier_preparer.quote
        statement = (f"COPY {quote(columns.table.name)} "
                     f"({', '.join(quote(name) for name in columns.names)}) "
                     "FROM STDIN (FORMAT BINARY)")
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                copy.set_types(columns.binary_types)
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:  # as SQLAlchemy raises it for its own statements
            raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
        return
    session.execute(columns.table.insert(), [dict(zip(columns.names, row, strict=True))
                                             for row in rows])
