"""Keep in-memory mirrors current by reading the change feed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlmodel import Session

from idsvc.changes import service
from idsvc.changes.models import Change

_BATCH = 10_000
log = logging.getLogger("idsvc.changes")


class Mirror(Protocol):
    topic: str

    def reload(self, session: Session) -> None: ...

    def apply(self, session: Session, change: Change) -> None: ...


class Follower:
    """Loads each mirror once, then applies only what changed since the last look.

    Reading the feed is one indexed query that usually returns nothing. It runs at
    most every `poll_seconds` (0: on every request that needs the mirrors), and at
    once after this worker commits a change of its own (`mark_stale`), so a worker
    never answers from a state older than its own last write. A full reload every
    `full_reload_seconds` is a safety net for entries purged while a worker slept.

    A running app reads it from a thread of its own (`start_polling`), twice per
    `poll_seconds`, so the mirrors are never older than that bound and requests wait for
    the feed only after this worker's own writes, or when that thread has fallen behind
    the bound; without the thread (tests, commands) the first request after each
    interval reads it.

    Callers hand it the primary's sessions, never a replica's (idsvc.changes.replica): a
    replica behind this worker's own last write would take the mirrors back in time.
    """

    def __init__(self, mirrors: list[Mirror], *, poll_seconds: float = 0.0,
                 full_reload_seconds: float = 300.0) -> None:
        self._mirrors = {m.topic: m for m in mirrors}
        self._poll_seconds = poll_seconds
        self._full_reload_seconds = full_reload_seconds
        self._lock = threading.Lock()
        self._last_id: int | None = None
        self._loaded_at = 0.0
        self._polled_at = 0.0
        self._stale = True
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def mark_stale(self) -> None:
        self._stale = True

    def due(self) -> bool:
        """Whether a request must read the feed before it answers."""
        if self._stale or self._last_id is None:
            return True
        return time.monotonic() - self._polled_at >= self._poll_seconds

    def catch_up_if_due(self, sessions: Callable[[], Session]) -> None:
        """Read the feed if it is time to; opens a session only then. Requests that
        arrive together read it once: the others find it done when they get the lock."""
        if self.due():
            with self._lock:
                if not self.due():
                    return
                with sessions() as session:
                    self._catch_up(session)

    def start_polling(self, sessions: Callable[[], Session]) -> None:
        """Read the feed in a daemon thread, at once (loading the mirrors) and then every
        half `poll_seconds` (no thread with a poll interval of 0: every request reads it)."""
        if self._poll_seconds <= 0 or self._poller is not None:
            return
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, args=(sessions,),
                                        name="change-feed", daemon=True)
        self._poller.start()

    def stop_polling(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
            self._poller = None

    def _poll(self, sessions: Callable[[], Session]) -> None:
        failing = False
        while True:
            started = time.monotonic()
            try:
                with sessions() as session:
                    self.catch_up(session)
                failing = False
            except Exception as exc:  # the database is away: requests will retry too
                if not failing:  # once per outage, by type only
                    log.error("cannot read the change feed: %s",
                              type(getattr(exc, "orig", None) or exc).__name__)
                failing = True
            # Every half interval from the start of the last read, so the bound holds.
            pause = max(self._poll_seconds / 2 - (time.monotonic() - started), 0.0)
            if self._stop.wait(pause):
                return

    def refresh(self, session: Session) -> None:
        """Read the feed in the caller's session if it is time to."""
        if self.due():
            self.catch_up(session)

    def catch_up(self, session: Session) -> None:
        with self._lock:
            self._catch_up(session)

    def _catch_up(self, session: Session) -> None:
        """Read the feed (the caller holds the lock)."""
        self._stale, now = False, time.monotonic()
        self._polled_at = now
        try:
            self._read(session, now)
        except BaseException:
            # The database went away mid-read: try again on the very next request, or
            # a long poll interval would hide this worker's own last write meanwhile.
            self._stale = True
            raise

    def _read(self, session: Session, now: float) -> None:
        """Reload or apply what is new (the caller holds the lock)."""
        head = service.head(session)  # read before reloading: later changes replay
        if (self._last_id is None or now - self._loaded_at > self._full_reload_seconds
                or head < self._last_id):  # the feed went back: it was reset
            for mirror in self._mirrors.values():
                mirror.reload(session)
            self._last_id, self._loaded_at = head, now
            return
        while head > self._last_id:
            batch = service.since(session, self._last_id, limit=_BATCH)
            for change in batch:
                mirror = self._mirrors.get(change.topic)
                if mirror is not None:
                    mirror.apply(session, change)
                self._last_id = change.id
            if len(batch) < _BATCH:
                return
