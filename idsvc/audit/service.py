"""Append-only, hash-chained audit log.

Each event's hash covers its content and the previous event's hash, so a
changed, inserted or deleted row breaks every link after it. Events never
hold personal data: they name the record by its identifier only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from idsvc.audit.models import AuditEvent
from idsvc.clock import utcnow

GENESIS = "0" * 64
_PG_LOCK_ID = 0x1D5C_A0D1  # advisory lock that serialises appends on PostgreSQL


@dataclass(frozen=True)
class Actor:
    """Who did it: a staff member, a partner, a resident or the system itself."""

    type: str
    id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


def _digest(*, prev_hash: str, at: datetime, actor_type: str, actor_id: str | None,
            action: str, subject_type: str, subject_id: str, details: str) -> str:
    content = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor_type, actor_id, action,
         subject_type, subject_id, details],
        separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _last_hash(session: Session) -> str:
    statement = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)  # type: ignore[union-attr]
    return session.exec(statement).first() or GENESIS


def record(session: Session, *, actor: Actor, action: str, subject_type: str,
           subject_id: str, details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's transaction: it commits or rolls back with the change."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    at = utcnow()
    fields = {
        "at": at, "actor_type": actor.type, "actor_id": actor.id, "action": action,
        "subject_type": subject_type, "subject_id": subject_id,
        "details": json.dumps(details or {}, sort_keys=True, separators=(",", ":"),
                              default=str),
    }
    prev_hash = _last_hash(session)
    event = AuditEvent(**fields, prev_hash=prev_hash, hash=_digest(prev_hash=prev_hash, **fields))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    head: str
    broken_at: int | None = None
    problem: str | None = None


def verify_chain(events: Iterable[AuditEvent]) -> ChainReport:
    """Walk the chain from the genesis; name the first event that does not link."""
    expected_prev = GENESIS
    count = 0
    for event in events:
        count += 1
        if event.prev_hash != expected_prev:
            return ChainReport(False, count, expected_prev, event.id,
                               "does not link to the event before it (inserted or deleted rows)")
        computed = _digest(prev_hash=event.prev_hash, at=event.at, actor_type=event.actor_type,
                           actor_id=event.actor_id, action=event.action,
                           subject_type=event.subject_type, subject_id=event.subject_id,
                           details=event.details)
        if computed != event.hash:
            return ChainReport(False, count, expected_prev, event.id, "content was changed")
        expected_prev = event.hash
    return ChainReport(True, count, expected_prev)


def verify_log(session: Session) -> ChainReport:
    statement = select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
    return verify_chain(session.exec(statement).yield_per(1000))


def events_for(session: Session, *, subject_type: str, subject_id: str) -> list[AuditEvent]:
    statement = (select(AuditEvent)
                 .where(AuditEvent.subject_type == subject_type,
                        AuditEvent.subject_id == subject_id)
                 .order_by(AuditEvent.id))  # type: ignore[arg-type]
    return list(session.exec(statement))
