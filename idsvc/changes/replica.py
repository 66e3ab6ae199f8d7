"""Which database serves a read that only displays: a streaming replica while it is fresh.

The consistency rule (README, "Deployment: replicas and several processes"):

- The change feed (revocations, suspensions, signing-key and partner-key changes) is
  always read from the primary by `idsvc.changes.follower`, so a replica never delays a
  revocation: every worker sees it within `change_poll_seconds`, and the worker that
  made it at once, with or without a replica.
- Lookups that only display (the card behind a typed number, a card's offers, the JWKS,
  the key that signs status lists, the offline bundle) read the replica while it is at
  most `max_lag_seconds` behind the primary, and the primary otherwise, or when the
  replica cannot be reached. Writes, and reads that decide a write, use the primary.

Freshness is measured, not assumed: every `max_lag_seconds / 4` one thread notes the
primary's WAL position at instant t and then asks the replica how far it has replayed.
Once the replica has replayed past the position noted at t it holds every commit made
before t, and it counts as `now - t` behind until a later check. Only this process's
monotonic clock is involved, and a quiet primary does not look like lag (unlike
`now() - pg_last_xact_replay_timestamp()`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from idsvc.db import make_engine, make_sessionmaker

_WRITTEN = text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
_REPLAYED = text("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')")  # NULL: no standby
DOWN_RETRY_SECONDS = 5.0  # an unreachable replica is not asked again sooner
CONNECT_TIMEOUT_SECONDS = 2  # libpq's smallest useful value


class ReplicaReads:
    """A session factory: on the replica while it is known fresh, else on the primary."""

    def __init__(self, primary: Callable[[], Session], replica: Engine, *,
                 max_lag_seconds: float) -> None:
        self._primary = primary
        self._replica = make_sessionmaker(replica)
        self._max_lag = max_lag_seconds
        self._lock = threading.Lock()
        self._noted: deque[tuple[float, int]] = deque()  # (instant, primary WAL position)
        self._fresh_as_of = -math.inf
        self._next_check = -math.inf
        event.listen(replica, "handle_error", self._on_error)

    def __call__(self) -> Session:
        if self.fresh():
            session = self._replica()
            try:
                session.connection()  # connect now, so a replica that just died falls back
                return session
            except DBAPIError:
                session.close()
                self._lost()
        return self._primary()

    def fresh(self) -> bool:
        """Whether the replica is at most max_lag behind; checks it when due (one thread)."""
        if time.monotonic() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._check()
            finally:
                self._lock.release()
        return time.monotonic() - self._fresh_as_of <= self._max_lag

    def _check(self) -> None:
        now = time.monotonic()  # taken before the primary answers: errs on the stale side
        self._next_check = now + self._max_lag / 4
        try:
            with self._primary() as session:
                written = int(session.execute(_WRITTEN).scalar_one())
        except DBAPIError:
            return  # nothing to compare with: the replica's last measure just ages
        self._noted.append((now, written))
        try:
            with self._replica() as session:
                replayed = session.execute(_REPLAYED).scalar_one()
        except DBAPIError:
            self._lost()
            return
        if replayed is None:  # not in recovery: promoted, or not a replica at all
            self._lost()
            return
        while self._noted and self._noted[0][1] <= replayed:
            self._fresh_as_of = max(self._fresh_as_of, self._noted.popleft()[0])
        while self._noted and self._noted[0][0] < now - self._max_lag:
            self._noted.popleft()  # too old to make the replica fresh enough

    def _lost(self) -> None:
        self._fresh_as_of = -math.inf
        self._next_check = time.monotonic() + DOWN_RETRY_SECONDS

    def _on_error(self, context: ExceptionContext) -> None:
        if context.is_disconnect:  # the replica went away in the middle of a read
            self._lost()


def replica_reads(url: str | None, primary: Callable[[], Session], *,
                  max_lag_seconds: float) -> Callable[[], Session]:
    """The session factory for display-only reads: the primary's when there is no replica."""
    if url is None:
        return primary
    engine = make_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    return ReplicaReads(primary, engine, max_lag_seconds=max_lag_seconds)
