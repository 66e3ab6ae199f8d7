"""The page-session rules shared by staff, partner desks and residents."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from idsvc.audit.service import Actor
from idsvc.clock import utcnow
from idsvc.partners.models import PartnerSession
from idsvc.partners.scopes import PartnerKind
from idsvc.partners.service import create_partner
from idsvc.partners.users import create_partner_user
from idsvc.sessions import TOUCH_EVERY, purge_expired, still_open
from idsvc.staff.models import StaffSession

IDLE = timedelta(minutes=30)


def test_a_session_closes_when_expired_or_idle_and_is_touched_sparingly():
    now = utcnow()
    row = StaffSession(token_hash="x", staff_id="s", kind="cookie", created_at=now,
                       expires_at=now + timedelta(hours=1), last_seen_at=now)
    assert still_open(row, now=now + TOUCH_EVERY / 2, idle=IDLE)
    assert row.last_seen_at == now  # not written on every click
    later = now + TOUCH_EVERY
    assert still_open(row, now=later, idle=IDLE) and row.last_seen_at == later
    assert not still_open(row, now=later + IDLE + timedelta(seconds=1), idle=IDLE)
    assert still_open(row, now=later + IDLE + timedelta(seconds=1), idle=None)  # API token
    assert not still_open(row, now=now + timedelta(hours=1), idle=None)


def test_purge_deletes_only_sessions_past_their_lifetime(connection):
    now = utcnow()
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        partner = create_partner(session, name="Library", kind=PartnerKind.LIBRARY,
                                 actor=Actor.system())
        user = create_partner_user(session, partner=partner, username="desk1",
                                   password="a long enough desk password", actor=Actor.system())
        for name, ends in (("old", now - timedelta(minutes=1)), ("live", now + IDLE)):
            session.add(PartnerSession(token_hash=name, user_id=user.id, expires_at=ends,
                                       last_seen_at=now))
        session.flush()
        assert purge_expired(session, PartnerSession, now=now) == 1
        left = session.exec(select(PartnerSession.token_hash)).all()
    assert left == ["live"]
