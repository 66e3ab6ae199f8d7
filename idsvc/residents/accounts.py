"""Resident accounts: activation with a one-time code, PIN login with back-off.

The code comes on the card mailer or from the clerk; the resident then picks a
PIN (6+ digits) or passphrase. Failed logins slow the next try down, growing with
each failure, and lock the account for a day after many; a clerk unlocks it by
issuing a new activation code. Only hashes of codes, secrets and tokens are kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session

from idsvc.abuse import FREE_FAILURES as FREE_FAILURES  # the back-off, shared with staff
from idsvc.abuse import clear_failures, count_failure, is_locked
from idsvc.audit.service import Actor, record
from idsvc.clock import utcnow
from idsvc.errors import DomainError, Invalid, Unauthorized
from idsvc.residents.models import ResidentAccount, ResidentSession
from idsvc.sessions import still_open
from idsvc.staff.passwords import hash_password, verify_password

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a desk
CODE_LENGTH = 10
CODE_LIFETIME = timedelta(days=60)
SESSION_LIFETIME = timedelta(hours=2)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _normal_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def issue_activation_code(session: Session, *, resident_id: str, actor: Actor) -> str:
    """A new one-time code (printed or handed over); it also unlocks a locked account."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    account = session.get(ResidentAccount, resident_id) or ResidentAccount(
        resident_id=resident_id)
    account.activation_hash = _digest(code)
    account.activation_expires_at = utcnow() + CODE_LIFETIME
    account.failed_logins, account.locked_until = 0, None
    session.add(account)
    session.flush()
    record(session, actor=actor, action="resident.activation_code", subject_type="resident",
           subject_id=resident_id)
    return f"{code[:5]}-{code[5:]}"


def check_secret_strength(secret: str) -> None:
    if secret.isdigit():
        if len(secret) < 6 or len(set(secret)) < 3:
            raise Invalid("A PIN needs 6 or more digits, not all the same or nearly.",
                          code="weak_secret")
    elif len(secret) < 10:
        raise Invalid("A passphrase needs 10 or more characters (or use a 6-digit PIN).",
                      code="weak_secret")


def activate(session: Session, *, resident_id: str | None, code: str, secret: str) -> None:
    """Set the resident's PIN with the one-time code; the code then stops working."""
    account = session.get(ResidentAccount, resident_id) if resident_id else None
    valid = (account is not None and account.activation_hash is not None
             and account.activation_expires_at is not None
             and account.activation_expires_at > utcnow()
             and secrets.compare_digest(account.activation_hash, _digest(_normal_code(code))))
    if not valid or account is None:
        raise Unauthorized("The card number or activation code is not right, or the code "
                           "has expired; ask at a service centre for a new one.",
                           code="invalid_activation")
    check_secret_strength(secret)
    account.secret_hash = hash_password(secret)
    account.activation_hash = account.activation_expires_at = None
    account.activated_at, account.failed_logins, account.locked_until = utcnow(), 0, None
    session.add(account)
    end_sessions(session, resident_id=account.resident_id)
    record(session, actor=Actor("resident", account.resident_id), action="resident.activate",
           subject_type="resident", subject_id=account.resident_id)


_REFUSED = Unauthorized("Wrong card number or PIN, or too many tries: wait a few minutes and "
                        "try again, or ask at a service centre.", code="invalid_credentials")


def login(session: Session, *, resident_id: str | None, secret: str) -> str | DomainError:
    """A session token, or the refusal to send (returned, not raised: the count of
    failures must be committed with the refusal, not rolled back by it)."""
    # Locked for the whole check, so parallel guesses queue and each one is counted.
    account = (session.get(ResidentAccount, resident_id, with_for_update=True,
                           populate_existing=True) if resident_id else None)
    now = utcnow()
    # Always one Argon2 check (a dummy hash for an unknown card), so neither the answer
    # nor its time tells a stranger that a card number has an account, or is locked.
    matches = verify_password(account.secret_hash if account is not None else None, secret)
    if account is not None and is_locked(account, now=now):
        # The same answer as a wrong PIN or an unknown card: a lock must not tell a
        # stranger that a card number belongs to someone with an account.
        return _REFUSED
    if account is None or not matches:
        if account is not None and account.secret_hash is not None:
            count_failure(account, now=now)
            session.add(account)
            session.flush()
        return _REFUSED
    clear_failures(account)
    token = secrets.token_urlsafe(32)
    session.add(account)
    session.add(ResidentSession(token_hash=_digest(token), resident_id=account.resident_id,
                                expires_at=now + SESSION_LIFETIME))
    session.flush()
    return token


def resident_for_token(session: Session, token: str, *, idle: timedelta | None = None) -> str:
    """The resident behind a token; a page cookie (`idle` given) also ends after `idle`
    unused, so a phone left on a counter does not stay logged in for two hours."""
    row = session.get(ResidentSession, _digest(token))
    if row is None or not still_open(row, now=utcnow(), idle=idle):
        raise Unauthorized("Log in again.", code="invalid_token")
    if row in session.dirty:
        session.flush()
    return row.resident_id


def end_sessions(session: Session, *, resident_id: str) -> None:
    """Log the resident out everywhere (new PIN, card reported lost or stolen, logout)."""
    session.execute(delete(ResidentSession).where(
        ResidentSession.resident_id == resident_id))  # type: ignore[arg-type]
    session.flush()
