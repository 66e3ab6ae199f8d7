"""Publish and read the change feed.

Verification keeps status lists, signing keys and partner keys in memory so
that checking a presented card reads no database row. Every change to them
is also written here, in the same transaction, and each worker reads the
feed past the last entry it has seen: a revocation committed by one worker
is seen by all the others on their next request.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, text
from sqlmodel import Session, select

from idsvc.changes.models import Change
from idsvc.clock import utcnow


class Topic(StrEnum):
    STATUS = "status"      # ref "list_id:idx", value the new 2-bit status
    KEYS = "keys"          # ref a signing key's kid
    PARTNERS = "partners"  # ref a partner id


_PG_LOCK_ID = 0x1D5C_C4A6  # serialises publishers on PostgreSQL


def publish(session: Session, *, topic: Topic, ref: str, value: int = 0) -> None:
    """Append in the caller's transaction.

    On PostgreSQL a lock held to commit makes ids become visible in order, so a reader
    that has seen id N never later finds an id below N appear (SQLite has one writer).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    session.add(Change(topic=topic, ref=ref, value=value, at=utcnow()))
    session.flush()
    session.info[PUBLISHED] = True


PUBLISHED = "idsvc_published_changes"


def published(session: Session) -> bool:
    """Whether this session's transaction wrote to the feed (read once, after commit)."""
    return bool(session.info.pop(PUBLISHED, False))


def head(session: Session) -> int:
    return session.exec(select(func.max(Change.id))).one() or 0


def since(session: Session, last_id: int, *, limit: int = 10_000) -> list[Change]:
    statement = (select(Change).where(Change.id > last_id)
                 .order_by(Change.id).limit(limit))  # type: ignore[arg-type]
    return list(session.exec(statement))


def purge_before(session: Session, moment: datetime) -> int:
    """Drop entries every worker has long since read (workers resync fully when behind)."""
    result = session.execute(delete(Change).where(Change.at < moment))  # type: ignore[arg-type]
    return int(result.rowcount or 0)
