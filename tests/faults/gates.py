"""Hold a server's request inside its transaction, from outside the server.

A trigger the test adds to the database stops the request right after it inserted a
row into the named table, so a SIGKILL lands between the request's first writes and
its commit, every time, with no hook in the service's code.

PostgreSQL: the trigger waits for an advisory lock the test holds, and pg_locks shows
the wait. SQLite has no wait inside a transaction (the writer already holds the only
lock), so the trigger writes about 10 MB of ballast, more than the page cache holds,
which spills uncommitted pages into the WAL file, and then counts for hours; the WAL
growing shows the request is there. Either way the dead request's rows, the ballast
included, must be gone when the database is opened again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Protocol

import psycopg
from sqlalchemy.engine import make_url

GATE_LOCK = 0x0FA0_17ED
_WAL_SHOWS_BALLAST = 1_000_000


class Gate(Protocol):
    def wait_until_held(self, timeout: float = 30) -> None: ...

    def leftovers(self) -> int:
        """Rows the held request wrote only for the gate and that survived it (must be 0)."""
        ...


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


class _SqliteGate:
    def __init__(self, path: Path, table: str) -> None:
        self.path, self.wal = path, Path(f"{path}-wal")
        digits = ", ".join(f"fault_digits d{i}" for i in range(12))  # 10**12 rows
        with closing(self._connect()) as db:
            db.executescript(f"""
                CREATE TABLE fault_digits (d INTEGER);
                INSERT INTO fault_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
                CREATE TABLE fault_ballast (b BLOB);
                CREATE TRIGGER fault_gate AFTER INSERT ON {table} BEGIN
                  INSERT INTO fault_ballast SELECT randomblob(1024)
                    FROM fault_digits a, fault_digits b, fault_digits c, fault_digits d;
                  SELECT count(*) FROM {digits};
                END;""")
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0, "the WAL could not be emptied"  # it grows only for the gate

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None, timeout=30)

    def wait_until_held(self, timeout: float = 30) -> None:
        _until(lambda: self.wal.exists() and self.wal.stat().st_size > _WAL_SHOWS_BALLAST,
               timeout, "the request never reached the gate")

    def leftovers(self) -> int:
        with closing(self._connect()) as db:
            return db.execute("SELECT count(*) FROM fault_ballast").fetchone()[0]

    def remove(self) -> None:
        with closing(self._connect()) as db:
            db.executescript("DROP TRIGGER fault_gate; DROP TABLE fault_ballast; "
                             "DROP TABLE fault_digits;")


class _PostgresGate:
    def __init__(self, conninfo: str, table: str) -> None:
        self.table = table
        self.backend: int | None = None
        self.holder = psycopg.connect(conninfo, autocommit=True)
        self.holder.execute("SELECT pg_advisory_lock(%s)", (GATE_LOCK,))
        self.holder.execute(f"""
            CREATE FUNCTION fault_gate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_advisory_xact_lock({GATE_LOCK}); RETURN NULL; END $$;
            CREATE TRIGGER fault_gate AFTER INSERT ON {table}
              FOR EACH ROW EXECUTE FUNCTION fault_gate();""")

    def _held_backend(self) -> int | None:
        row = self.holder.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE d.datname = current_database() AND l.locktype = 'advisory' "
            "AND l.objid = %s AND NOT l.granted", (GATE_LOCK,)).fetchone()
        return int(row[0]) if row else None

    def wait_until_held(self, timeout: float = 30) -> None:
        def held() -> bool:
            self.backend = self._held_backend()
            return self.backend is not None
        _until(held, timeout, "the request never reached the gate")

    def leftovers(self) -> int:
        return 0  # the gate itself writes nothing

    def remove(self) -> None:
        """Let the held backend go on: with its client dead it can only roll back."""
        self.holder.execute("SELECT pg_advisory_unlock(%s)", (GATE_LOCK,))
        if self.backend is not None:
            _until(lambda: self.holder.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (self.backend,)
            ).fetchone() is None, 30, "the dead server's backend stayed")
        self.holder.execute(f"DROP TRIGGER fault_gate ON {self.table}; "
                            "DROP FUNCTION fault_gate()")
        self.holder.close()


@contextmanager
def gate(database_url: str, table: str) -> Iterator[Gate]:
    """Hold every request that inserts into `table` until the block ends; the caller
    kills the server inside the block. The gate is gone afterwards."""
    url = make_url(database_url)
    held: _SqliteGate | _PostgresGate
    if url.get_backend_name() == "sqlite":
        held = _SqliteGate(Path(url.database or ""), table)
    else:
        held = _PostgresGate(url.set(drivername="postgresql")
                             .render_as_string(hide_password=False), table)
    try:
        yield held
    finally:
        held.remove()
