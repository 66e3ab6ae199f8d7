"""Status list slots: random, never reused, so a list reveals nothing about issue order."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import IntEnum

from sqlmodel import Session, select

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
