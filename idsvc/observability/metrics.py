"""One worker's counters, kept in plain Python objects so the hot path stays cheap.

Recording a request is a tuple, a dict lookup, a bisect and two additions under an
uncontended lock (well under a microsecond); prometheus_client's own metric objects cost
several microseconds per request in multiprocess mode, which the verify fast path cannot
afford. Workers share their counts through snapshots (see `workers.py`), and
`exposition.py` renders the sum in Prometheus' text format.

Counters only ever grow: a scrape compares them with the previous one, so a worker's
counts are never reset while it lives.
"""

from __future__ import annotations

import itertools
import threading
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from idsvc.benefits.models import Redemption
from idsvc.cards.models import Card
from idsvc.verification.events import Event, EventSink

# Seconds. The verify fast path answers in about a millisecond; pages and card PDFs take
# tens to hundreds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any other method a client invents is counted as "other": labels stay a small set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PENDING = "idsvc.metrics.pending"

HttpKey = tuple[str, str, int]  # method, route template, status class (2 for 2xx)


@dataclass
class Totals:
    """Counts of one worker, or the sum of several."""

    # key -> [sum of seconds, count in each bucket of BUCKETS, count above the last]
    http: dict[HttpKey, list[float]] = field(default_factory=dict)
    verifications: Counter[tuple[str, str]] = field(default_factory=Counter)  # method, result
    cards_issued: Counter[str] = field(default_factory=Counter)  # issue reason
    redemptions: int = 0

    def to_json(self) -> dict[str, Any]:
        rows = list(self.http.items())  # one C call: safe while the loop adds a row
        return {"http": [[*key, *row] for key, row in rows],
                "verifications": [[*key, n] for key, n in self.verifications.items()],
                "cards_issued": list(self.cards_issued.items()),
                "redemptions": self.redemptions}

    def add_json(self, data: dict[str, Any]) -> None:
        """Add a snapshot written by `to_json` (another worker's)."""
        width = len(BUCKETS) + 2
        for method, route, status, *row in data.get("http", []):
            if len(row) != width:  # written by a version with other buckets
                continue
            mine = self.http.setdefault((method, route, int(status)), [0.0] * width)
            for i, value in enumerate(row):
                mine[i] += value
        for method, result, n in data.get("verifications", []):
            self.verifications[(method, result)] += n
        for reason, n in data.get("cards_issued", []):
            self.cards_issued[reason] += n
        self.redemptions += data.get("redemptions", 0)


class Metrics:
    """The counters of this worker process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # for what threads of the pool count
        self._totals = Totals()
        self._http = self._totals.http
        # Verdicts are counted on the event loop (API) and in pool threads (desk pages):
        # `next()` on an itertools.count is one atomic step, cheaper than a lock.
        self._verdicts: dict[tuple[str, str], itertools.count[int]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Called by the event loop's thread only (one per worker), so without the lock:
        `snapshot` copies the row table and each row in single C calls; one taken between
        the two additions below sees the sum a request ahead, which the next corrects."""
        key = (method if method in METHODS else "other", route, status // 100)
        row = self._http.get(key)
        if row is None:
            row = self._http[key] = [0.0] * (len(BUCKETS) + 2)
        row[0] += seconds
        row[bisect_left(BUCKETS, seconds) + 1] += 1  # the first bound >= seconds ("le")

    def count_verification(self, method: str, result: str) -> None:
        counter = self._verdicts.get((method, result))
        if counter is None:
            counter = self._verdicts.setdefault((method, result), itertools.count(1))
        next(counter)

    def count_committed(self, cards: list[str], redemptions: int) -> None:
        with self._lock:
            self._totals.cards_issued.update(cards)
            self._totals.redemptions += redemptions

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            self._totals.verifications = Counter(
                {key: _next_value(counter) - 1 for key, counter in list(self._verdicts.items())})
            return self._totals.to_json()  # copies every row (see observe_request)

    def counting(self, sink: EventSink) -> EventSink:
        """`sink`, counting each verification's verdict on the way (API and desk pages)."""
        return CountingSink(sink, self)

    def count_commits(self, sessions: sessionmaker[Any]) -> None:
        """Count cards issued and redemptions when the transaction that wrote them commits,
        so a request that fails and rolls back counts nothing."""
        event.listen(sessions, "after_flush", _note_new_rows)
        event.listen(sessions, "after_soft_rollback", _forget_rows)
        event.listen(sessions, "after_commit", self._count_rows)

    def _count_rows(self, session: Session) -> None:
        pending = session.info.pop(_PENDING, None)
        if pending:
            cards = [reason for kind, reason in pending if kind == "card"]
            self.count_committed(cards, len(pending) - len(cards))


def _next_value(counter: itertools.count[int]) -> int:
    """What `next(counter)` would give, without taking it (`count(41)` → 41)."""
    return int(repr(counter)[len("count("):-1])


def _note_new_rows(session: Session, _context: Any) -> None:
    for row in session.new:
        if isinstance(row, Card):
            session.info.setdefault(_PENDING, []).append(("card", row.issue_reason))
        elif isinstance(row, Redemption):
            session.info.setdefault(_PENDING, []).append(("redemption", ""))


def _forget_rows(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


class CountingSink:
    """An event sink that counts verdicts, then hands the event on."""

    def __init__(self, inner: EventSink, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics

    def record(self, event: Event) -> None:
        self._metrics.count_verification(event.method, event.result)
        self._inner.record(event)

    def close(self) -> None:
        self._inner.close()
