"""Status list slots: random, never reused, so a list reveals nothing about issue order."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import IntEnum

from sqlmodel import Session, select

from idsvc.changes.service import Topic, publish
from idsvc.clock import utcnow
from idsvc.status.models import StatusEntry, StatusList

# A list stops taking new cards at this fill level, so random picks stay cheap.
FILL_LIMIT = 0.75


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


def parse_status_uri(issuer: str, uri: str) -> int | None:
    """The list id in one of this issuer's status URIs, or None for anyone else's."""
    prefix = status_uri(issuer, 0)[:-1]
    tail = uri.removeprefix(prefix)
    return int(tail) if tail != uri and tail.isdigit() else None
