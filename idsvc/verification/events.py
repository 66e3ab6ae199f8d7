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


def _store(session: Session, batch: list[Event]) -> None:
    """Insert a batch and commit: COPY on PostgreSQL, one executemany elsewhere.

    The writer shares the interpreter lock with the requests, so the cheapest insert
    per row is what keeps verification fast: no ORM rows, no per-row parameters dicts.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(_COPY) as copy:  # type: ignore[union-attr]
            for event in batch:
                copy.write_row(tuple(getattr(event, name) for name in _FIELDS))
    else:
        session.execute(_TABLE.insert(),
                        [{name: getattr(event, name) for name in _FIELDS} for event in batch])
    session.commit()


class EventSink(Protocol):
    def record(self, event: Event) -> None: ...

    def close(self) -> None: ...


class InlineSink:
    """Writes each event at once in its own transaction (tests, tiny deployments)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def record(self, event: Event) -> None:
        with self._sessions() as session:
            _store(session, [event])

    def close(self) -> None:
        return None


class BatchingSink:
    """Collects events in memory and inserts them every `interval_seconds` from one thread.

    A verification only appends to a deque: no lock, no wake-up of the writer, which
    would otherwise take the interpreter lock once per request. Events still pending
    when the process is killed, or flushed while the database is down, are lost (the
    writer goes on with the next batch); they are a convenience for residents, not the
    record of anything that changed.
    """

    def __init__(self, sessions: Callable[[], Session], *, interval_seconds: float = 0.5,
                 max_pending: int = 100_000) -> None:
        self._sessions = sessions
        self._interval = interval_seconds
        self._max_pending = max_pending
        self._pending: deque[Event] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="verification-events",
                                        daemon=True)
        self._thread.start()

    def record(self, event: Event) -> None:
        if len(self._pending) >= self._max_pending:
            log.warning("verification events pending past %d; event dropped", self._max_pending)
            return
        self._pending.append(event)

    def pending(self) -> int:
        """Events recorded and not yet handed to the database."""
        return len(self._pending)

    def _take(self) -> list[Event]:
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
