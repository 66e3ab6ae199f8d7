"""Every worker's in-memory copy of the status lists: one byte per card slot.

Verification answers from here, never from a database row; the change feed
keeps it current (see idsvc.changes.follower).
"""

from __future__ import annotations

from sqlmodel import Session

from idsvc.changes.models import Change
from idsvc.changes.service import Topic
from idsvc.status import service
from idsvc.status.token import pack


class StatusMirror:
    topic = Topic.STATUS

    def __init__(self) -> None:
        self._lists: dict[int, bytearray] = {}

    def reload(self, session: Session) -> None:
        lists = {list_id: bytearray(size) for list_id, size in service.list_sizes(session).items()}
        for list_id, idx, status in service.flagged_entries(session):
            lists[list_id][idx] = status
        self._lists = lists

    def apply(self, session: Session, change: Change) -> None:
        list_part, _, idx_part = change.ref.partition(":")
        list_id = int(list_part)
        if idx_part == "new":
            self._lists.setdefault(list_id, bytearray(change.value))
        elif list_id in self._lists:
            self._lists[list_id][int(idx_part)] = change.value

    def status(self, list_id: int, idx: int) -> int | None:
        """The slot's status, or None when this list or index does not exist."""
        entries = self._lists.get(list_id)
        if entries is None or not 0 <= idx < len(entries):
            return None
        return entries[idx]

    def list_ids(self) -> list[int]:
        return sorted(self._lists)

    def packed(self, list_id: int) -> bytes | None:
        entries = self._lists.get(list_id)
        return None if entries is None else pack(bytes(entries))
