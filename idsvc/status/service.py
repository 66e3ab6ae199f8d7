"""Status list slots: random, never reused, so a list reveals nothing about issue order."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from sqlalchemy import func
from sqlmodel import Session, select

from idsvc.changes.service import Topic, publish
from idsvc.clock import utcnow
from idsvc.status.models import StatusEntry, StatusList

# A list stops taking new cards at this fill level, so random picks stay cheap.
FILL_LIMIT = 0.75
_DRAW = 256  # candidate indices a SlotPool checks against its list in one query
_RANDOM = secrets.SystemRandom()


class Status(IntEnum):
    VALID = 0
    INVALID = 1
    SUSPENDED = 2


@dataclass(frozen=True)
class Slot:
    list_id: int
    idx: int


def _open_list(session: Session, *, size: int) -> StatusList:
    statement = (select(StatusList)
                 .where(StatusList.allocated < StatusList.size * FILL_LIMIT)
                 .order_by(StatusList.id.desc())  # type: ignore[union-attr]
                 .limit(1).with_for_update())
    current = session.exec(statement).first()
    if current is None:
        current = StatusList(size=size, created_at=utcnow())
        session.add(current)
        session.flush()
        # Tell every worker the list exists (value: its size), so it can answer for it.
        publish(session, topic=Topic.STATUS, ref=f"{current.id}:new", value=size)
    return current


def allocate_slot(session: Session, *, size: int) -> Slot:
    """A random free index in the open list, marked VALID."""
    status_list = _open_list(session, size=size)
    assert status_list.id is not None
    while True:
        idx = secrets.randbelow(status_list.size)
        if session.get(StatusEntry, (status_list.id, idx)) is None:
            break
    session.add(StatusEntry(list_id=status_list.id, idx=idx, status=Status.VALID))
    status_list.allocated += 1
    session.flush()
    return Slot(status_list.id, idx)


class SlotPool:
    """`allocate_slot` for the many cards of one transaction (an import batch).

    The open list is locked once, random candidate indices are checked against it a
    few hundred at a time, and its count is settled from its entries when the batch is
    done: a handful of statements per batch instead of four per card. The slots are
    the same as `allocate_slot`'s: random, free, never reused, below the fill limit.
    Call `prepare` outside any savepoint before each card: all locking and reading
    happens there, so rolling back a card's savepoint cannot drop the list's lock.
    """

    def __init__(self, session: Session, *, size: int) -> None:
        self._session, self._size = session, size
        self._list = _open_list(session, size=size)
        self._free: list[int] = []
        self._seen: set[int] = set()  # indices of the open list checked by this pool
        self._given = 0  # of them, handed out or waiting in `_free`

    def prepare(self) -> None:
        """Make sure a free index is at hand (opening the next list when this one fills)."""
        while not self._free:
            if self._room() <= 0:
                self.settle()
                self._list = _open_list(self._session, size=self._size)
                self._seen, self._given = set(), 0
            self._draw(min(_DRAW, self._room()))

    def take(self) -> Slot:
        """A prepared free index, marked VALID in the caller's transaction. If the caller
        rolls the card back, the index stays free in the list; this pool skips it."""
        self.prepare()
        assert self._list.id is not None
        idx = self._free.pop()
        self._session.add(StatusEntry(list_id=self._list.id, idx=idx, status=Status.VALID))
        return Slot(self._list.id, idx)

    def settle(self) -> None:
        """Count the open list's entries into its `allocated`, as `allocate_slot` keeps it."""
        self._session.flush()
        statement = select(func.count()).select_from(StatusEntry).where(
            StatusEntry.list_id == self._list.id)
        self._list.allocated = self._session.exec(statement).one()
        self._session.add(self._list)
        self._session.flush()

    def _room(self) -> int:
        """Indices the open list may still give out, counting those this pool drew."""
        return math.ceil(self._list.size * FILL_LIMIT) - self._list.allocated - self._given

    def _draw(self, count: int) -> None:
        candidates: set[int] = set()
        while len(candidates) < count:
            idx = secrets.randbelow(self._list.size)
            if idx not in self._seen:
                candidates.add(idx)
        self._seen |= candidates
        statement = select(StatusEntry.idx).where(StatusEntry.list_id == self._list.id,
                                                  StatusEntry.idx.in_(candidates))  # type: ignore[attr-defined]
        free = list(candidates - set(self._session.exec(statement)))
        _RANDOM.shuffle(free)  # a set iterates in index order: issue order must not show
        self._free.extend(free)
        self._given += len(free)


def status_uri(issuer: str, list_id: int) -> str:
    return f"{issuer.rstrip('/')}/status/{list_id}"


def set_status(session: Session, *, slot: Slot, status: Status) -> None:
    """Change a card's status; every worker's in-memory copy follows through the feed."""
    entry = session.get(StatusEntry, (slot.list_id, slot.idx))
    if entry is None:
        raise LookupError(f"status slot {slot} was never allocated")
    entry.status = status
    session.add(entry)
    publish(session, topic=Topic.STATUS, ref=f"{slot.list_id}:{slot.idx}", value=status)


def list_sizes(session: Session) -> dict[int, int]:
    return {row.id: row.size for row in session.exec(select(StatusList))
            if row.id is not None}


def flagged_entries(session: Session) -> list[tuple[int, int, int]]:
    """(list, index, status) of every slot that is not VALID: the little a mirror must load."""
    statement = select(StatusEntry.list_id, StatusEntry.idx, StatusEntry.status).where(
        StatusEntry.status != Status.VALID)
    return [tuple(row) for row in session.exec(statement)]  # type: ignore[misc]


@lru_cache(maxsize=1024)  # every verification asks; a city has a few dozen lists
def parse_status_uri(issuer: str, uri: str) -> int | None:
    """The list id in one of this issuer's status URIs, or None for anyone else's."""
    prefix = status_uri(issuer, 0)[:-1]
    tail = uri.removeprefix(prefix)
    return int(tail) if tail != uri and tail.isascii() and tail.isdigit() else None
