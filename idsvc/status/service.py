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
from idsvc.rows import Columns
from idsvc.status.models import StatusEntry, StatusList

# A list stops taking new cards at this fill level, so random picks stay cheap.
FILL_LIMIT = 0.75
_DRAW = 256  # candidate indices a SlotReserver checks against its list in one query
_RANDOM = secrets.SystemRandom()


ENTRY_ROWS = Columns(StatusEntry, skip=())  # for bulk work (idsvc.rows): an import's batch


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
    return session.exec(statement).first() or _new_list(session, size=size)


def _new_list(session: Session, *, size: int) -> StatusList:
    status_list = StatusList(size=size, created_at=utcnow())
    session.add(status_list)
    session.flush()
    # Tell every worker the list exists (value: its size), so it can answer for it.
    publish(session, topic=Topic.STATUS, ref=f"{status_list.id}:new", value=size)
    return status_list


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


class SlotReserver:
    """Slots for cards that are signed before they are stored: an import signs its next
    batch in other processes while it writes the last one, and the slot is in the
    signature.

    The slots are `allocate_slot`'s: random free indices of the newest list with room,
    never reused. The list is not locked while the cards are being signed, so the
    reserver remembers what it handed out until `forget` (once stored or given up): its
    own cards never share a slot, and the status entries' unique key refuses one a desk's
    card took meanwhile (the caller then redraws that batch). The fill limit counts what
    is stored and what this reserver holds, not what desks take meanwhile, so a list may
    end a few cards past it: the limit keeps random draws cheap, nothing depends on it.
    `settle` counts the stored entries into each list's `allocated` under the list's lock.
    """

    def __init__(self, *, size: int) -> None:
        self._size = size
        self._pending: dict[int, set[int]] = {}  # list id -> indices handed out, not stored

    def reserve(self, session: Session, count: int) -> list[Slot]:
        """`count` free slots; may open new lists (the caller commits that at once)."""
        slots: list[Slot] = []
        while len(slots) < count:
            status_list = _open_list(session, size=self._size)
            assert status_list.id is not None
            pending = self._pending.setdefault(status_list.id, set())
            room = math.ceil(status_list.size * FILL_LIMIT) - status_list.allocated - len(pending)
            if room <= 0:  # full with what is still being signed: start the next list
                _new_list(session, size=self._size)
                continue
            free = self._draw(session, status_list, min(_DRAW, room, count - len(slots)))
            pending.update(free)
            slots += [Slot(status_list.id, idx) for idx in free]
        return slots

    def forget(self, slots: list[Slot]) -> None:
        for slot in slots:
            pending = self._pending.get(slot.list_id)
            if pending is not None:
                pending.discard(slot.idx)
                if not pending:
                    del self._pending[slot.list_id]

    def _draw(self, session: Session, status_list: StatusList, count: int) -> list[int]:
        pending = self._pending[status_list.id]  # type: ignore[index]
        candidates: set[int] = set()
        while len(candidates) < count:
            idx = secrets.randbelow(status_list.size)
            if idx not in pending:
                candidates.add(idx)
        statement = select(StatusEntry.idx).where(StatusEntry.list_id == status_list.id,
                                                  StatusEntry.idx.in_(candidates))  # type: ignore[attr-defined]
        free = list(candidates - set(session.exec(statement)))
        _RANDOM.shuffle(free)  # a set iterates in index order: issue order must not show
        return free


def lock_lists(session: Session, list_ids: set[int]) -> None:
    """Lock these lists until the transaction ends, in id order (as `settle` does), before
    storing entries in them in bulk: a desk allocating a slot then waits instead of
    racing for the same index."""
    if list_ids:
        statement = (select(StatusList.id).where(StatusList.id.in_(list_ids))  # type: ignore[union-attr]
                     .order_by(StatusList.id).with_for_update())  # type: ignore[arg-type]
        session.exec(statement).all()


def settle(session: Session, list_ids: set[int]) -> None:
    """Count each list's entries into its `allocated`, under its lock, after entries were
    stored in bulk (`allocate_slot` keeps the count itself)."""
    session.flush()
    for list_id in sorted(list_ids):  # in id order, so two settlers cannot deadlock
        status_list = session.get(StatusList, list_id, with_for_update=True,
                                  populate_existing=True)
        assert status_list is not None
        status_list.allocated = session.exec(
            select(func.count()).select_from(StatusEntry)
            .where(StatusEntry.list_id == list_id)).one()
        session.add(status_list)
    session.flush()


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
