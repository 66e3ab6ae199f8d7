"""Staff accounts, login and sessions."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, select

from idsvc.abuse import clear_failures, count_failure, is_locked
from idsvc.audit.service import Actor, record
from idsvc.centres.service import get_centre
from idsvc.clock import utcnow
from idsvc.errors import Conflict, DomainError, Invalid, NotFound, Unauthorized
from idsvc.sessions import still_open
from idsvc.staff.models import Staff, StaffSession
from idsvc.staff.passwords import hash_password, verify_password
from idsvc.staff.roles import Role

MIN_PASSWORD_LENGTH = 12


def actor_of(staff: Staff) -> Actor:
    return Actor("staff", staff.id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str, *, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.",
                      code="weak_password")
    if username.casefold() in password.casefold():
        raise Invalid("The password must not contain the username.", code="weak_password")


def create_staff(session: Session, *, username: str, password: str, role: Role,
                 centre_id: int | None, actor: Actor) -> Staff:
    check_password_strength(password, username=username)
    if find_staff(session, username) is not None:
        raise Conflict(f"The username {username!r} is taken.", code="username_taken")
    if centre_id is not None:
        get_centre(session, centre_id)
    staff = Staff(id=uuid.uuid4().hex, username=username, password_hash=hash_password(password),
                  role=role, centre_id=centre_id, created_at=utcnow())
    session.add(staff)
    session.flush()
    record(session, actor=actor, action="staff.create", subject_type="staff",
           subject_id=staff.id, details={"role": role, "centre_id": centre_id})
    return staff


def find_staff(session: Session, username: str) -> Staff | None:
    return session.exec(select(Staff).where(Staff.username == username)).first()


def list_staff(session: Session) -> list[Staff]:
    return list(session.exec(select(Staff).order_by(Staff.username)))


def supervisors_at(session: Session, centre_id: int | None) -> list[Staff]:
    """The active supervisors of a centre: whom its clerks ask to clear a duplicate warning."""
    statement = (select(Staff)
                 .where(Staff.role == Role.SUPERVISOR, Staff.active.is_(True),  # type: ignore[attr-defined]
                        Staff.centre_id == centre_id)
                 .order_by(Staff.username))
    return list(session.exec(statement))


def _refused() -> Unauthorized:
    # One answer for an unknown name, a wrong password, a disabled or a locked account.
    return Unauthorized("Wrong username or password.", code="invalid_credentials")


def log_in(session: Session, *, username: str, password: str) -> Staff | DomainError:
    """The account for these credentials, or the refusal to send: returned, not raised,
    because the failure count (idsvc.abuse back-off) must be committed with the refusal."""
    # Row-locked for the whole check, so parallel guesses queue and each one is counted.
    staff = session.exec(select(Staff).where(Staff.username == username)
                         .with_for_update().execution_options(populate_existing=True)).first()
    now = utcnow()
    # Always one Argon2 check, so the time tells nobody whether the name exists.
    ok = verify_password(staff.password_hash if staff else None, password)
    if staff is None or is_locked(staff, now=now):
        return _refused()
    if not ok:
        count_failure(staff, now=now)
        session.add(staff)
        session.flush()
        return _refused()
    if not staff.active:
        return _refused()
    if staff.failed_logins:
        clear_failures(staff)
        session.add(staff)
        session.flush()
    return staff


def authenticate(session: Session, *, username: str, password: str) -> Staff:
    """`log_in` that raises its refusal: for callers that catch it and still commit
    (the login page renders it), so the failure count is kept."""
    outcome = log_in(session, username=username, password=password)
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def open_session(session: Session, *, staff: Staff, kind: str,
                 lifetime: timedelta) -> tuple[str, datetime]:
    """Issue a random token; only its hash is stored, so a DB leak yields no live tokens."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + lifetime
    session.add(StaffSession(token_hash=_token_hash(token), staff_id=staff.id, kind=kind,
                             created_at=now, expires_at=expires_at, last_seen_at=now))
    record(session, actor=actor_of(staff), action="staff.login", subject_type="staff",
           subject_id=staff.id, details={"kind": kind})
    session.flush()
    return token, expires_at


def staff_for_token(session: Session, token: str, *, idle: timedelta | None = None,
                    cookie_only: bool = False) -> Staff:
    """The account behind a token; a page cookie also ends after `idle` unused.
    `cookie_only` (the pages) refuses an API token copied into the cookie, which would
    otherwise open pages with no idle limit."""
    row = session.get(StaffSession, _token_hash(token))
    if row is not None and cookie_only and row.kind != "cookie":
        row = None
    if row is None or not still_open(row, now=utcnow(),
                                     idle=idle if row.kind == "cookie" else None):
        raise Unauthorized("The session has expired or is not valid; log in again.",
                           code="invalid_token")
    if row in session.dirty:
        session.flush()
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    return staff


def close_session(session: Session, token: str) -> None:
    row = session.get(StaffSession, _token_hash(token))
    if row is not None:
        session.delete(row)
        session.flush()
        record(session, actor=Actor("staff", row.staff_id), action="staff.logout",
               subject_type="staff", subject_id=row.staff_id, details={"kind": row.kind})


def set_password(session: Session, *, staff: Staff, password: str, actor: Actor) -> None:
    """Replace a password, unlock the account and end every open session of it."""
    check_password_strength(password, username=staff.username)
    staff.password_hash = hash_password(password)
    clear_failures(staff)
    session.add(staff)
    for open_session_row in session.exec(select(StaffSession)
                                         .where(StaffSession.staff_id == staff.id)):
        session.delete(open_session_row)
    session.flush()
    record(session, actor=actor, action="staff.password_reset", subject_type="staff",
           subject_id=staff.id)


def get_staff(session: Session, staff_id: str) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("No such staff account.", code="staff_not_found")
    return staff


def deactivate_staff(session: Session, *, staff: Staff, actor: Actor) -> Staff:
    """Disable an account and end its open sessions at once (idempotent).

    Nobody disables their own account: the last administrator could lock everyone out.
    """
    if actor == actor_of(staff):
        raise Conflict("You cannot deactivate your own account.", code="cannot_deactivate_self")
    for open_session_row in session.exec(select(StaffSession)
                                         .where(StaffSession.staff_id == staff.id)):
        session.delete(open_session_row)
    if staff.active:
        staff.active = False
        session.add(staff)
        record(session, actor=actor, action="staff.deactivate", subject_type="staff",
               subject_id=staff.id)
    session.flush()
    return staff
