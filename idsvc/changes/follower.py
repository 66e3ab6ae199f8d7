"""Keep in-memory mirrors current by reading the change feed."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from sqlmodel import Session

from idsvc.changes import service
from idsvc.changes.models import Change

_BATCH = 10_000


class Mirror(Protocol):
    topic: str

    def reload(self, session: Session) -> None: ...

    def apply(self, session: Session, change: Change) -> None: ...


class Follower:
    """Loads each mirror once, then applies only what changed since the last look.

    `catch_up` runs at the start of every request that reads a mirror: one indexed
    query that usually returns nothing. A full reload every `full_reload_seconds` is a
    safety net for entries purged while a worker slept.
    """

    def __init__(self, mirrors: list[Mirror], *, full_reload_seconds: float = 300.0) -> None:
        self._mirrors = {m.topic: m for m in mirrors}
        self._full_reload_seconds = full_reload_seconds
        self._lock = threading.Lock()
        self._last_id: int | None = None
        self._loaded_at = 0.0

    def catch_up(self, session: Session) -> None:
        with self._lock:
            if (self._last_id is None
                    or time.monotonic() - self._loaded_at > self._full_reload_seconds):
                head = service.head(session)
                for mirror in self._mirrors.values():
                    mirror.reload(session)
                self._last_id, self._loaded_at = head, time.monotonic()
                return
            while True:
                batch = service.since(session, self._last_id, limit=_BATCH)
                for change in batch:
                    mirror = self._mirrors.get(change.topic)
                    if mirror is not None:
                        mirror.apply(session, change)
                    self._last_id = change.id
                if len(batch) < _BATCH:
                    return
