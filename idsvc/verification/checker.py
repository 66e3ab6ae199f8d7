"""Is this credential good? The one rule set for online and offline verification.

Online, keys and statuses come from the worker's in-memory mirrors; offline,
from a JWKS file and signed status lists. Both call `check_credential`, so the
same card gets the same verdict whichever way it is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from idsvc.cards import credential
from idsvc.crypto.cose import CBOR_MAPS
from idsvc.crypto.keyring import KeyState, TrustedKey

CLOCK_SKEW_SECONDS = 300


class Result(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    STATUS_UNKNOWN = "status_unknown"  # offline only: no fresh status list to consult


SHOWS_CARD = frozenset({Result.VALID, Result.EXPIRED, Result.SUSPENDED})
_BY_STATUS = {1: Result.REVOKED, 2: Result.SUSPENDED}


class KeyLookup(Protocol):
    def get(self, kid: str) -> TrustedKey | None: ...


StatusLookup = Callable[[str, int], int | None]


class Check(NamedTuple):
    """A verdict and why (a tuple: one is made per verification)."""

    result: Result
    reason: str
    decoded: credential.DecodedCredential | None = None

    @property
    def card_number(self) -> str | None:
        """Only from a credential whose signature held: never trust an unsigned claim."""
        if self.decoded is None or self.result == Result.INVALID:
            return None
        value = self.decoded.claim169.get(credential.F_ID)
        return value if isinstance(value, str) else None


def _status_reference(claims: Mapping[Any, Any]) -> tuple[str, int] | None:
    status = claims.get(credential.CLAIM_STATUS)
    if not isinstance(status, CBOR_MAPS):
        return None
    entry = status.get("status_list")
    if not isinstance(entry, CBOR_MAPS):
        return None
    uri, idx = entry.get("uri"), entry.get("idx")
    if not isinstance(uri, str) or not isinstance(idx, int) or isinstance(idx, bool):
        return None
    return uri, idx


def _timestamp(claims: Mapping[Any, Any], key: int) -> int | None:
    value = claims.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_credential(text: str, *, keys: KeyLookup, issuer: str, status_of: StatusLookup,
                     now: datetime) -> Check:
    """Signature, key state, issuer, validity window and status, in that order."""
    try:
        decoded = credential.decode(text)
    except credential.CredentialError:
        return Check(Result.INVALID, "malformed")
    kid_bytes = decoded.message.kid
    key = keys.get(kid_bytes.decode("utf-8", "replace")) if kid_bytes else None
    if key is None:
        return Check(Result.INVALID, "unknown_key")
    if key.state == KeyState.COMPROMISED:
        return Check(Result.INVALID, "key_compromised")
    if not decoded.message.verify(key.public_key):
        return Check(Result.INVALID, "bad_signature")
    claims = decoded.claims
    if claims.get(credential.CLAIM_ISS) != issuer:
        return Check(Result.INVALID, "wrong_issuer")
    if claims.get(credential.CLAIM_SUB) != decoded.claim169.get(credential.F_ID):
        return Check(Result.INVALID, "subject_mismatch")
    moment = int(now.timestamp())
    not_before = _timestamp(claims, credential.CLAIM_NBF)
    if not_before is not None and not_before > moment + CLOCK_SKEW_SECONDS:
        return Check(Result.INVALID, "not_yet_valid")
    reference = _status_reference(claims)
    if reference is None:
        return Check(Result.INVALID, "no_status_reference")
    status = status_of(*reference)
    if status is None:
        return Check(Result.STATUS_UNKNOWN, "no_status_list", decoded)
    if status in _BY_STATUS:
        return Check(_BY_STATUS[status], "status_list", decoded)
    if status != 0:
        return Check(Result.INVALID, "unknown_status", decoded)
    expires = _timestamp(claims, credential.CLAIM_EXP)
    if expires is not None and expires <= moment:
        return Check(Result.EXPIRED, "expired", decoded)
    return Check(Result.VALID, "ok", decoded)
