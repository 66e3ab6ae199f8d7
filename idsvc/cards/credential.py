"""The Claim 169 credential in the card's QR: base45(zlib(COSE_Sign1(CWT))).

Any MOSIP Claim 169 verifier can read it. The field numbers below are those
of the Claim 169 specification. Fields 13 and 22 (nationality, legal status) are never set.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import cbor2

from idsvc.cards.base45 import b45decode, b45encode
from idsvc.crypto import cose
from idsvc.crypto.keyring import Signer

CLAIM_ISS, CLAIM_SUB, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT = 1, 2, 4, 5, 6
CLAIM_169 = 169
CLAIM_STATUS = 65535

# Claim 169 fields used by idsvc.
F_ID, F_VERSION, F_LANGUAGE, F_FULL_NAME, F_FIRST_NAME = 1, 2, 3, 4, 5
F_LAST_NAME, F_DATE_OF_BIRTH, F_GENDER, F_ADDRESS = 7, 8, 9, 10
F_PHOTO, F_PHOTO_FORMAT = 16, 17
PHOTO_FORMAT_WEBP = 4
GENDER_CODES = {"M": 1, "F": 2, "X": 3}  # "U" (not shown) is left out
MAX_DECOMPRESSED = 16 * 1024


class CredentialError(ValueError):
    """The text is not a well-formed credential (before any signature check)."""


@dataclass(frozen=True)
class CredentialSubject:
    """What the card says about its holder; None fields are left out of the QR."""

    card_number: str
    version: int
    full_name: str
    first_name: str
    last_name: str | None
    date_of_birth: date
    gender: str
    address: str | None
    language: str | None
    photo_webp: bytes | None


@dataclass(frozen=True)
class Validity:
    issuer: str
    issued_at: datetime
    expires_at: datetime | None
    status_uri: str
    status_idx: int


def claim169_map(subject: CredentialSubject) -> dict[int, Any]:
    fields: dict[int, Any] = {
        F_ID: subject.card_number,
        F_VERSION: str(subject.version),
        F_FULL_NAME: subject.full_name,
        F_FIRST_NAME: subject.first_name,
        F_DATE_OF_BIRTH: subject.date_of_birth.strftime("%Y%m%d"),
    }
    optional = {
        F_LANGUAGE: subject.language,
        F_LAST_NAME: subject.last_name,
        F_GENDER: GENDER_CODES.get(subject.gender),
        F_ADDRESS: subject.address,
    }
    fields.update({k: v for k, v in optional.items() if v})
    if subject.photo_webp:
        fields[F_PHOTO] = subject.photo_webp
        fields[F_PHOTO_FORMAT] = PHOTO_FORMAT_WEBP
    return fields


def birth_date(claim: Mapping[Any, Any]) -> date | None:
    """The date of birth in a Claim 169 map (YYYYMMDD, or YYYY-MM-DD from other issuers)."""
    value = claim.get(F_DATE_OF_BIRTH)
    if not isinstance(value, str):
        return None
    digits = value.replace("-", "")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def cwt_claims(subject: CredentialSubject, validity: Validity) -> dict[int, Any]:
    issued = int(validity.issued_at.timestamp())
    claims: dict[int, Any] = {
        CLAIM_ISS: validity.issuer,
        CLAIM_SUB: subject.card_number,
        CLAIM_IAT: issued,
        CLAIM_NBF: issued,
    }
    if validity.expires_at is not None:
        claims[CLAIM_EXP] = int(validity.expires_at.timestamp())
    claims[CLAIM_169] = claim169_map(subject)
    claims[CLAIM_STATUS] = {"status_list": {"idx": validity.status_idx, "uri": validity.status_uri}}
    return claims


def encode(claims: dict[int, Any], signer: Signer) -> str:
    """Sign the CWT and wrap it for a QR: the only text a card's QR ever carries."""
    signed = cose.sign1(
        cbor2.dumps(claims), private_key=signer.private_key, kid=signer.kid.encode()
    )
    return b45encode(zlib.compress(signed, 9)).decode("ascii")


class DecodedCredential(NamedTuple):
    """A decoded credential (a tuple, like `cose.Sign1`: one is made per verification)."""

    message: cose.Sign1
    claims: Mapping[Any, Any]

    @property
    def claim169(self) -> Mapping[Any, Any]:
        value = self.claims.get(CLAIM_169)
        return value if isinstance(value, cose.CBOR_MAPS) else {}


def decode(text: str) -> DecodedCredential:
    """Unwrap a QR text without trusting it: the caller must still check the signature."""
    try:
        compressed = b45decode(text.strip())
        inflater = zlib.decompressobj()
        signed = inflater.decompress(compressed, MAX_DECOMPRESSED)
        if inflater.unconsumed_tail:
            raise CredentialError("The credential is too large.")
        if not inflater.eof or inflater.unused_data:  # cut short, or junk after the stream
            raise CredentialError("Not a complete zlib stream.")
    except (ValueError, zlib.error) as exc:
        raise CredentialError("Not a Base45/zlib credential.") from exc
    try:
        message = cose.parse_sign1(signed)
    except cose.CoseError as exc:
        raise CredentialError(str(exc)) from exc
    try:
        claims = cbor2.loads(message.payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CredentialError("The payload is not CBOR.") from exc
    if not isinstance(claims, cose.CBOR_MAPS) or not isinstance(claims.get(CLAIM_169),
                                                                cose.CBOR_MAPS):
        raise CredentialError("The payload carries no Claim 169.")
    return DecodedCredential(message, claims)
