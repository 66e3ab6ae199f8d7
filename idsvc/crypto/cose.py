"""COSE_Sign1 (RFC 9052) with ES256, the envelope of a Claim 169 credential."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from idsvc.crypto import es256

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
ALG_ES256 = -7


# What cbor2 decodes a CBOR map to: a dict, or an immutable frozendict inside tags.
# Exact types, not the Mapping ABC: this runs on every verification and ABC checks are slow.
CBOR_MAPS = (dict, cbor2.frozendict)


class CoseError(ValueError):
    """The bytes are not a COSE_Sign1 structure this verifier understands."""


class Sign1(NamedTuple):
    """A parsed, not yet verified COSE_Sign1 message (a tuple: made on every verification,
    and a frozen dataclass costs three times as much to build)."""

    protected: bytes
    algorithm: int | None
    kid: bytes | None
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        return _sig_structure(self.protected, self.payload)

    def verify(self, public_key: ec.EllipticCurvePublicKey) -> bool:
        return self.algorithm == ALG_ES256 and es256.verify(
            public_key, self.to_be_signed(), self.signature
        )


def _bstr_head(length: int) -> bytes:
    """The CBOR head of a byte string of `length` bytes (major type 2)."""
    if length < 24:
        return bytes([0x40 | length])
    for marker, size in ((0x58, 1), (0x59, 2), (0x5A, 4)):
        if length < 1 << (8 * size):
            return bytes([marker]) + length.to_bytes(size, "big")
    return b"\x5b" + length.to_bytes(8, "big")


_SIGNATURE1_HEAD = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """CBOR of ["Signature1", protected, b"", payload], built directly: it is hashed on
    every verification, and cbor2.dumps of a fresh list costs more than the bytes."""
    return b"".join((_SIGNATURE1_HEAD, _bstr_head(len(protected)), protected, b"\x40",
                     _bstr_head(len(payload)), payload))


def sign1(payload: bytes, *, private_key: ec.EllipticCurvePrivateKey, kid: bytes) -> bytes:
    protected = cbor2.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: kid})
    signature = es256.sign(private_key, _sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def parse_sign1(data: bytes) -> Sign1:
    try:
        message: Any = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CoseError("Not CBOR.") from exc
    if isinstance(message, cbor2.CBORTag):
        if message.tag != COSE_SIGN1_TAG:
            raise CoseError("Not a COSE_Sign1 message.")
        message = message.value
    if not (isinstance(message, list | tuple) and len(message) == 4):
        raise CoseError("COSE_Sign1 must be an array of four items.")
    protected, unprotected, payload, signature = message
    if not (isinstance(protected, bytes) and isinstance(payload, bytes)
            and isinstance(signature, bytes) and isinstance(unprotected, CBOR_MAPS)):
        raise CoseError("COSE_Sign1 items have the wrong types.")
    algorithm, kid = _protected_header(protected)
    if kid is None:
        unprotected_kid = unprotected.get(HEADER_KID)
        kid = unprotected_kid if isinstance(unprotected_kid, bytes) else None
    return Sign1(protected, algorithm, kid, payload, signature)


@lru_cache(maxsize=256)
def _protected_header(protected: bytes) -> tuple[int | None, bytes | None]:
    """(alg, kid) of a protected header; cached, as every card of one key shares it."""
    try:
        headers = cbor2.loads(protected) if protected else {}
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError,
            RecursionError) as exc:
        raise CoseError("Protected header is not CBOR.") from exc
    if not isinstance(headers, CBOR_MAPS):
        raise CoseError("Protected header must be a map.")
    algorithm, kid = headers.get(HEADER_ALG), headers.get(HEADER_KID)
    return (algorithm if isinstance(algorithm, int) and not isinstance(algorithm, bool)
            else None, kid if isinstance(kid, bytes) else None)
