"""Partner desk users: people who check presented cards in the browser, and their sessions.

A desk user acts for one partner, with that partner's scope; they hold a password (argon2id,
the staff rules) instead of an API key, and a page session whose token is stored only as
a SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, select

from idsvc.abuse import clear_failures, count_failure, is_locked
from idsvc.audit.service import Actor, record
from idsvc.clock import utcnow
from idsvc.errors import Conflict, DomainError, NotFound, Unauthorized
from idsvc.partners.models import Partner, PartnerSession, PartnerUser
from idsvc.sessions import still_open
from idsvc.staff.passwords import hash_password, verify_password
from idsvc.staff.service import check_password_strength


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _refused() -> Unauthorized:
    # One answer for every failure, so the login reveals neither names nor account states.
    return Unauthorized("Wrong username or password.", code="invalid_credentials")


def actor_of(user: PartnerUser) -> Actor:
    return Actor("partner_user", str(user.id))


def create_partner_user(session: Session, *, partner: Partner, username: str, password: str,
                        actor: Actor) -> PartnerUser:
    """A desk login for `partner`; usernames are unique across every partner."""
    check_password_strength(password, username=username)
    taken = session.exec(select(PartnerUser).where(PartnerUser.username == username)).first()
    if taken is not None:
        raise Conflict(f"The username {username!r} is taken.", code="username_taken")
    user = PartnerUser(partner_id=partner.id, username=username,
                       password_hash=hash_password(password), created_at=utcnow())
    session.add(user)
    session.flush()
    record(session, actor=actor, action="partner_user.create", subject_type="partner_user",
           subject_id=str(user.id), details={"partner_id": partner.id})
    return user


def list_partner_users(session: Session, partner: Partner) -> list[PartnerUser]:
    statement = (select(PartnerUser).where(PartnerUser.partner_id == partner.id)
                 .order_by(PartnerUser.username))
    return list(session.exec(statement))


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(PartnerSession)
                    .where(PartnerSession.user_id == user_id))  # type: ignore[arg-type]


def get_partner_user(session: Session, *, partner: Partner, user_id: int) -> PartnerUser:
    user = session.get(PartnerUser, user_id)
    if user is None or user.partner_id != partner.id:
        raise NotFound("No such user for this partner.", code="partner_user_not_found")
    return user


def deactivate_partner_user(session: Session, *, partner: Partner, user_id: int,
                            actor: Actor) -> PartnerUser:
    """Disable a desk login and end its open sessions at once (idempotent)."""
    user = get_partner_user(session, partner=partner, user_id=user_id)
    _end_sessions(session, user_id)
    if user.active:
        user.active = False
        session.add(user)
        session.flush()
        record(session, actor=actor, action="partner_user.deactivate",
               subject_type="partner_user", subject_id=str(user.id),
               details={"partner_id": partner.id})
    return user


def set_password(session: Session, *, user: PartnerUser, password: str, actor: Actor) -> None:
    """Replace a desk user's password, unlock the login and end every open session: how an
    administrator lets a locked-out or forgetful desk user back in."""
    check_password_strength(password, username=user.username)
    user.password_hash = hash_password(password)
    clear_failures(user)
    session.add(user)
    _end_sessions(session, user.id)
    session.flush()
    record(session, actor=actor, action="partner_user.password_reset",
           subject_type="partner_user", subject_id=str(user.id),
           details={"partner_id": user.partner_id})


def find_user(session: Session, username: str) -> PartnerUser | None:
    return session.exec(select(PartnerUser).where(PartnerUser.username == username)).first()


def log_in(session: Session, *, username: str, password: str) -> PartnerUser | DomainError:
    """The desk user for these credentials, or the refusal to send (returned, not raised:
    the failure count of the idsvc.abuse back-off must be committed with the refusal).
    An unknown name, a wrong password, a lock, a disabled user or a disabled partner all
    get the same refusal."""
    # Row-locked for the whole check, so parallel guesses queue and each one is counted.
    user = session.exec(select(PartnerUser).where(PartnerUser.username == username)
                        .with_for_update().execution_options(populate_existing=True)).first()
    now = utcnow()
    ok = verify_password(user.password_hash if user else None, password)  # always one check
    if user is None or is_locked(user, now=now):
        return _refused()
    if not ok:
        count_failure(user, now=now)
        session.add(user)
        session.flush()
        return _refused()
    partner = session.get(Partner, user.partner_id)
    if not user.active or partner is None or not partner.active:
        return _refused()
    if user.failed_logins:
        clear_failures(user)
        session.add(user)
        session.flush()
    return user


def authenticate(session: Session, *, username: str, password: str) -> PartnerUser:
    """`log_in` that raises its refusal: for callers that catch it and still commit (the
    login page renders it), so the failure count is kept."""
    outcome = log_in(session, username=username, password=password)
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def open_session(session: Session, *, user: PartnerUser, lifetime: timedelta) -> str:
    """A new random session token; only its hash is stored, so a DB leak yields no session."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(PartnerSession(token_hash=_token_hash(token), user_id=user.id,
                               expires_at=now + lifetime, last_seen_at=now))
    session.flush()
    record(session, actor=actor_of(user), action="partner_user.login",
           subject_type="partner_user", subject_id=str(user.id),
           details={"partner_id": user.partner_id})
    return token


def user_for_token(session: Session, token: str, *,
                   idle: timedelta | None) -> tuple[PartnerUser, Partner]:
    """The desk user and partner behind a session token, while both are active."""
    row = session.get(PartnerSession, _token_hash(token))
    if row is None or not still_open(row, now=utcnow(), idle=idle):
        raise Unauthorized("The session has expired or is not valid; log in again.",
                           code="invalid_token")
    if row in session.dirty:
        session.flush()
    user = session.get(PartnerUser, row.user_id)
    partner = session.get(Partner, user.partner_id) if user is not None else None
    if user is None or partner is None or not user.active or not partner.active:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    return user, partner


def close_session(session: Session, token: str) -> None:
    row = session.get(PartnerSession, _token_hash(token))
    if row is not None:
        session.delete(row)
        session.flush()
        record(session, actor=Actor("partner_user", str(row.user_id)),
               action="partner_user.logout", subject_type="partner_user",
               subject_id=str(row.user_id))

