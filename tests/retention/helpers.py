"""What the retention tests share: a session on the test's connection, and shredding."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlmodel import Session, select

from idsvc.audit.service import Actor
from idsvc.cards.models import Card
from idsvc.db import make_sessionmaker
from idsvc.retention.shredding import Shredded, ShredReason, shred_resident
from tests.conftest import SeededDatabase

ACTOR = Actor("staff", "test")


@contextmanager
def database_session(connection: Connection) -> Iterator[Session]:
    """A session on the test's connection: what it commits the app sees, and the test's
    rollback still undoes."""
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    with sessions() as session:
        yield session
        session.commit()


def resident_of(connection: Connection, number: str) -> str:
    with database_session(connection) as session:
        return session.exec(select(Card.resident_id).where(Card.number == number)).first()


def shred(connection: Connection, database: SeededDatabase, resident_id: str,
          reason: ShredReason = ShredReason.ERASURE_REQUEST) -> Shredded:
    with database_session(connection) as session:
        return shred_resident(session, resident_id, reason, ACTOR, keys=database.master_key)
