"""Confirmation codes and the keyed contact hashes that count a person's requests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# No 0/O or 1/I: codes are read aloud on the phone and typed from a printout.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 20  # 100 random bits: guessing one is hopeless even without the rate limit
GROUP = 5


def new_code() -> str:
    """A fresh code, shown once; only its hash is stored."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def normal_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(b"appointment:" + normal_code(code).encode()).hexdigest()


def email_key(key: bytes, email: str) -> str:
    """The same address however capitalised gives the same tag; the tag names nobody."""
    return hmac.digest(key, b"appointment-email:" + email.strip().casefold().encode(),
                       "sha256").hex()


def phone_key(key: bytes, phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return hmac.digest(key, b"appointment-phone:" + digits.encode(), "sha256").hex()
