"""Writing verification events off the request path, and forgetting them on time."""

from __future__ import annotations

import logging
import queue
import threading
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


def _store(session: Session, batch: list[Event]) -> None:
    """One multi-row INSERT through Core: no ORM objects for rows nobody reads back."""
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
    """Queues events and inserts them in batches from one background thread.

    A verification never waits on an insert. Events still queued when the
    process is killed are lost; they are a convenience for residents, not the
    record of anything that changed.
    """

    def __init__(self, sessions: Callable[[], Session], *, batch_size: int = 500,
                 interval_seconds: float = 0.5) -> None:
        self._sessions = sessions
        self._batch_size = batch_size
        self._interval = interval_seconds
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=100_000)
        self._thread = threading.Thread(target=self._run, name="verification-events",
                                        daemon=True)
        self._thread.start()

    def record(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            log.warning("verification event queue full; event dropped")

    def _drain(self, first: Event) -> tuple[list[Event], bool]:
        batch, stop = [first], False
        while len(batch) < self._batch_size:
            try:
                item = self._queue.get(timeout=self._interval)
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            batch.append(item)
        return batch, stop

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._drain(first)
            try:
                with self._sessions() as session:
                    _store(session, batch)
            except Exception:  # keep the writer alive through a database outage
                log.exception("could not store %d verification events", len(batch))
            if stop:
                return

    def close(self) -> None:
        """Write what is queued, then stop (called at shutdown)."""
        self._queue.put(None)
        self._thread.join(timeout=10)


def purge_events(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(VerificationEvent)
                             .where(VerificationEvent.at < before))  # type: ignore[arg-type]
    return int(result.rowcount or 0)
