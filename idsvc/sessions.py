"""Idle timeouts for page sessions (staff, partner desks, residents), in one rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete
from sqlmodel import Session

from idsvc.config import Settings

# A session's last-seen time is written at most this often: not one write per click.
TOUCH_EVERY = timedelta(seconds=60)


class PageSession(Protocol):
    expires_at: datetime
    last_seen_at: datetime | None


def page_idle(settings: Settings) -> timedelta:
    """How long a page session may sit unused (API tokens have no idle limit)."""
    return timedelta(minutes=settings.page_idle_minutes)


def still_open(row: PageSession, *, now: datetime, idle: timedelta | None) -> bool:
    """False once the session expired, or sat unused longer than `idle` (None: no idle
    limit, as for API tokens). An open session is marked seen; the caller saves it."""
    if row.expires_at <= now:
        return False
    if idle is None:
        return True
    seen = row.last_seen_at
    if seen is not None and now - seen > idle:
        return False
    if seen is None or now - seen >= TOUCH_EVERY:
        row.last_seen_at = now
    return True


def purge_expired(session: Session, table: type[Any], *, now: datetime) -> int:
    """Delete a session table's rows past their lifetime (run by `idsvc purge`)."""
    result = session.execute(delete(table).where(table.expires_at < now))
    return int(result.rowcount or 0)
