"""Per-key request limits, kept in each worker's memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: `limit` requests per `period` seconds (a minute unless told),
    refilled evenly, bursts up to that many.

    Each worker counts on its own, so with N workers a key may get up to N times the limit.
    Keys may be any hashable (a partner id, a client address); a bucket idle for a whole
    period is full again, so such buckets are forgotten when there are many keys.
    """

    MAX_KEYS = 100_000

    def __init__(self, *, period: float = 60.0) -> None:
        self.period = period
        self._buckets: dict[Hashable, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: Hashable, per_minute: int) -> float | None:
        """None if allowed; otherwise the seconds to wait before the next request.
        (`per_minute` is the limit per `period`, a minute by default.)"""
        return self._use(key, per_minute, 1.0)

    def wait(self, key: Hashable, limit: int) -> float | None:
        """What `take` would answer, without taking: check first, count only failures."""
        return self._use(key, limit, 0.0)

    def _use(self, key: Hashable, limit: int, cost: float) -> float | None:
        rate = limit / self.period
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.MAX_KEYS:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(limit), now)
            bucket.tokens = min(float(limit), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= cost
                return None
            return (1.0 - bucket.tokens) / rate

    def _forget_full(self, now: float) -> None:
        self._buckets = {key: bucket for key, bucket in self._buckets.items()
                         if now - bucket.updated < self.period}
