"""COSE_Sign1 (RFC 9052) with ES256, the envelope of a Claim 169 credential."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from idsvc.crypto import es256

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
ALG_ES256 = -7


class CoseError(ValueError):
    """The bytes are not a COSE_Sign1 structure this verifier understands."""


@dataclass(frozen=True)
class Sign1:
    """A parsed, not yet verified COSE_Sign1 message."""

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


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


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
            and isinstance(signature, bytes) and isinstance(unprotected, Mapping)):
        raise CoseError("COSE_Sign1 items have the wrong types.")
    try:
        headers = cbor2.loads(protected) if protected else {}
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise CoseError("Protected header is not CBOR.") from exc
    if not isinstance(headers, Mapping):
        raise CoseError("Protected header must be a map.")
    kid = headers.get(HEADER_KID, unprotected.get(HEADER_KID))
    algorithm = headers.get(HEADER_ALG)
    return Sign1(
        protected=protected,
        algorithm=algorithm if isinstance(algorithm, int) else None,
        kid=kid if isinstance(kid, bytes) else None,
        payload=payload,
        signature=signature,
    )
