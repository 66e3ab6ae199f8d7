"""Queue an email in the caller's transaction; send queued emails later, once each.

A booking only writes a row here, so a slow or down SMTP server never fails or delays
it. `drain` sends what is due: each message is first claimed for a minute by one
committed UPDATE (so several workers draining at once never send it twice), then sent,
then deleted. A failed send is retried with a doubling wait; after `MAX_ATTEMPTS` the
message is dropped and a warning logged (without the address).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from idsvc.clock import utcnow
from idsvc.crypto.envelope import MasterKey, open_sealed, seal
from idsvc.notifications.models import OutboxMessage
from idsvc.notifications.smtp import Mailer, SendFailed

log = logging.getLogger("idsvc.notifications")
MAX_ATTEMPTS = 8
CLAIM = timedelta(minutes=1)
FIRST_RETRY = timedelta(minutes=1)


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


# Not bound to the row id (one INSERT, no UPDATE): the recipient, subject and body are
# sealed together, so moving ciphertext between rows can only swap whole messages.
OWNER = "outbox"


def enqueue(session: Session, keys: MasterKey, email: Email) -> None:
    """Add `email` to the outbox; it is sent only if the caller's transaction commits."""
    data_key, wrapped = keys.new_data_key(owner=OWNER)
    content = json.dumps({"to": email.to, "subject": email.subject, "body": email.body})
    session.add(OutboxMessage(wrapped_key=wrapped,
                              sealed=seal(data_key, content.encode(), aad=OWNER.encode()),
                              created_at=utcnow(), next_attempt_at=utcnow()))


def _read(message: OutboxMessage, keys: MasterKey) -> Email:
    data_key = keys.unwrap(message.wrapped_key, owner=OWNER)
    return Email(**json.loads(open_sealed(data_key, message.sealed, aad=OWNER.encode())))


def _claim(sessions: sessionmaker[Session], now: datetime, limit: int) -> list[OutboxMessage]:
    """Messages due now, each claimed by this caller alone."""
    claimed = []
    with sessions.begin() as session:
        due = session.exec(select(OutboxMessage.id).where(
            col(OutboxMessage.next_attempt_at) <= now,
            or_(col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now),
        ).order_by(col(OutboxMessage.id)).limit(limit)).all()
        for message_id in due:
            taken = session.execute(update(OutboxMessage).where(
                col(OutboxMessage.id) == message_id,
                or_(col(OutboxMessage.claimed_until).is_(None),
                    col(OutboxMessage.claimed_until) < now),
            ).values(claimed_until=now + CLAIM))
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(message_id)
        return list(session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(claimed))))


def drain(sessions: sessionmaker[Session], keys: MasterKey, mailer: Mailer, *,
          limit: int = 100) -> int:
    """Send what is due (up to `limit`); the number sent."""
    sent = 0
    for message in _claim(sessions, utcnow(), limit):
        try:
            mailer.send(_read(message, keys))
        except SendFailed as exc:
            _retry_later(sessions, message, reason=str(exc))
            continue
        with sessions.begin() as session:
            session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == message.id))
        sent += 1
    return sent


def _retry_later(sessions: sessionmaker[Session], message: OutboxMessage, *,
                 reason: str) -> None:
    attempts = message.attempts + 1
    with sessions.begin() as session:
        if attempts >= MAX_ATTEMPTS:
            log.warning("outbox message %s dropped after %s failed sends (%s)",
                        message.id, attempts, reason)
            session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == message.id))
            return
        log.warning("outbox message %s not sent (%s); retrying", message.id, reason)
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(
            attempts=attempts, claimed_until=None,
            next_attempt_at=utcnow() + FIRST_RETRY * 2 ** (attempts - 1)))


def pending(session: Session) -> int:
    """Messages not sent yet (for tests and the command line)."""
    return len(session.exec(select(OutboxMessage.id)).all())
