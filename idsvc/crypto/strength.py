"""Is a secret good enough to protect residents' records? Rules shared by every setting.

Each rule answers with the reason a secret is weak (to put in a start-up refusal that
names the setting) or None; it never echoes the secret itself.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DATA_KEY_BYTES = 32

# Passwords that ship in images, tutorials and compose files, and what people type first.
KNOWN_DEFAULTS = frozenset({
    "postgres", "postgresql", "password", "passw0rd", "password1", "changeme", "change-me",
    "change_me", "changeit", "secret", "admin", "administrator", "root", "toor", "idsvc",
    "riverton", "example", "test", "testing", "demo", "guest", "default", "letmein",
    "welcome", "qwerty", "123456", "12345678", "123456789", "1234567890", "pass", "user",
})
# Base64 keys from documentation and tutorials: published, so they protect nothing.
KNOWN_EXAMPLE_DATA_KEYS = frozenset({
    base64.b64encode(bytes(DATA_KEY_BYTES)).decode(),
    base64.b64encode(bytes(range(DATA_KEY_BYTES))).decode(),
    base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(),
})
# 32 random bytes hold about 30 different values; so few that the odds are below 1e-15.
_MIN_DISTINCT_BYTES = 20


def weak_secret(value: str, *, min_length: int, username: str | None = None) -> str | None:
    """Why a password or passphrase is weak, or None."""
    folded = value.strip().casefold()
    if folded in KNOWN_DEFAULTS or (username and folded == username.casefold()):
        return "a well-known default"
    if len(set(value)) <= 2:
        return "one or two characters repeated"
    if len(value) < min_length:
        return f"shorter than {min_length} characters"
    return None


def decode_data_key(encoded: str) -> bytes:
    """The 32 key bytes of a base64 data key; ValueError (without the value) when malformed."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("is not base64") from exc
    if len(raw) != DATA_KEY_BYTES:
        raise ValueError(f"decodes to {len(raw)} bytes, not {DATA_KEY_BYTES}")
    return raw


def weak_data_key(encoded: str) -> str | None:
    """Why a base64 master key cannot be trusted to be random, or None."""
    try:
        raw = decode_data_key(encoded)
    except ValueError as exc:
        return str(exc)
    if encoded.strip() in KNOWN_EXAMPLE_DATA_KEYS:
        return "a published example value"
    if len(set(raw)) < _MIN_DISTINCT_BYTES:
        return "low in entropy (too few different bytes)"
    if all(0x20 <= byte < 0x7F for byte in raw):
        return "text typed by a person, not random bytes"
    return None


def weak_url_password(url: str, *, min_length: int) -> str | None:
    """Why the password inside a database URL is weak, or None (also when it has none:
    peer, certificate or .pgpass authentication keep no password in the URL)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # not a database URL: the engine reports that on its own
    if parsed.password is None:
        return None
    return weak_secret(str(parsed.password), min_length=min_length, username=parsed.username)
