"""Writing verification events off the request path, and forgetting them on time."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete
from sqlmodel import Session

from idsvc.verification.models import VerificationEvent

log = logging.getLogger("idsvc.verification")


@dataclass(frozen=True, slots=True)
class Event:
    """One verification, as queued: a plain record (building an ORM row costs more than
    the signature check, so rows are made in bulk by the writer)."""

    at: datetime
    partner_id: int
    key_id: int | None
    method: str
    result: str
    card_ref: str | None


_TABLE = VerificationEvent.__table__  # type: ignore[attr-defined]
_FIELDS = ("at", "partner_id", "key_id", "method", "result", "card_ref")
_COPY = f"COPY {_TABLE.name} ({', '.join(_FIELDS)}) FROM STDIN"
_NULL = "\\N"  # COPY text's NULL


def copy_line(event: Event) -> str:
    """The event as one line of PostgreSQL COPY text. Every field is a number, a time, a
    fixed word (method, verdict) or a hex pseudonym, so none needs escaping."""
    key_id = _NULL if event.key_id is None else event.key_id
    partner_id = _NULL if event.partner_id is None else event.partner_id
    return (f"{event.at.isoformat()}\t{partner_id}\t{key_id}\t{event.method}\t"
            f"{event.result}\t{event.card_ref or _NULL}\n")


def _parameters(event: Event) -> dict[str, object]:
    return {name: getattr(event, name) for name in _FIELDS}


def row_format(sessions: Callable[[], Session]) -> Callable[[Event], object]:
    """How `_store` wants the events of this database: COPY lines on PostgreSQL,
    parameter dicts elsewhere."""
    with sessions() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
    return copy_line if postgresql else _parameters


def _store(session: Session, rows: list) -> None:
    """Insert a batch of rows made by `row_format` and commit: one COPY on PostgreSQL,
    one executemany elsewhere. The writer shares the interpreter lock with the requests,
    so it does no work per row: the rows were made when the events were recorded."""
    if rows and isinstance(rows[0], str):
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(_COPY) as copy:  # type: ignore[union-attr]
            copy.write("".join(rows))
    else:
        session.execute(_TABLE.insert(), rows)
    session.commit()


class EventSink(Protocol):
    def record(self, event: Event) -> None: ...

    def close(self) -> None: ...


class InlineSink:
    """Writes each event at once in its own transaction (tests, tiny deployments)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._row = row_format(sessions)

    def record(self, event: Event) -> None:
        with self._sessions() as session:
            _store(session, [self._row(event)])

    def close(self) -> None:
        return None


class BatchingSink:
    """Collects events in memory and inserts them every `interval_seconds` from one thread.

    A verification only turns its event into a row (`row_format`) and appends it to a
    deque: no lock, no wake-up of the writer, which would otherwise take the interpreter
    lock once per request, and no per-row work left for the writer, whose every moment
    holding that lock stalls the requests (one batch of a busy half second formatted
    there took 15-20 ms of it). Events still pending
    when the process is killed, or flushed while the database is down, are lost (the
    writer goes on with the next batch); they are a convenience for residents, not the
    record of anything that changed.
    """

    def __init__(self, sessions: Callable[[], Session], *, interval_seconds: float = 0.5,
                 max_pending: int = 100_000) -> None:
        self._sessions = sessions
        self._interval = interval_seconds
        self._max_pending = max_pending
        self._row = row_format(sessions)
        self._pending: deque[object] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="verification-events",
                                        daemon=True)
        self._thread.start()

    def record(self, event: Event) -> None:
        if len(self._pending) >= self._max_pending:
            log.warning("verification events pending past %d; event dropped", self._max_pending)
            return
        self._pending.append(self._row(event))

    def pending(self) -> int:
        """Events recorded and not yet handed to the database."""
        return len(self._pending)

    def _take(self) -> list[object]:
        pending = self._pending
        return [pending.popleft() for _ in range(len(pending))]

    def _flush(self) -> None:
        batch = self._take()
        if not batch:
            return
        try:
            with self._sessions() as session:
                _store(session, batch)
        except Exception as exc:  # keep the writer alive through a database outage
            # By type only, once per batch: the text may quote the rows, and an outage
            # would otherwise print a traceback every interval.
            log.error("could not store %d verification events: %s", len(batch),
                      type(getattr(exc, "orig", None) or exc).__name__)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._flush()
        self._flush()

    def close(self) -> None:
        """Write what is pending, then stop (called at shutdown)."""
        self._stop.set()
        self._thread.join(timeout=10)


def purge_events(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(VerificationEvent)
                             .where(VerificationEvent.at < before))  # type: ignore[arg-type]
    return int(result.rowcount or 0)
