"""IETF Token Status List in its JWT form (draft-ietf-oauth-status-list), as pure functions.

A status list is one small integer per card, packed `bits` bits per entry, compressed with
DEFLATE in the zlib format and carried base64url-encoded in a signed `statuslist+jwt`. Nothing
here touches the database or the network, so the offline verifier, the HTTP endpoint and the
benchmark all share exactly the same encoding and the same checks.
"""

from __future__ import annotations

import binascii
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import (
    EllipticCurvePrivateKey,
    EllipticCurvePublicKey,
)

from idsvc.crypto.es256 import b64url, b64url_decode, sign, verify

BITS = 2  # 0 VALID, 1 INVALID, 2 SUSPENDED; 3 is free for an application-specific status.
ALLOWED_BITS = (1, 2, 4, 8)
TYP = "statuslist+jwt"
ALG = "ES256"

# Strict alphabet: the stdlib decoder silently drops characters outside it, and a list that
# decodes "successfully" from garbage must not pass as a status list.
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

# For each entry width, one translation table per position inside a byte: table k maps a status
# value v to v << (k * bits). Built once here so `pack` only does C-level byte operations.
_SHIFT_TABLES = {
    bits: [
        bytes(((v << (k * bits)) & 0xFF) for v in range(256)) for k in range(8 // bits)
    ]
    for bits in ALLOWED_BITS
}


class StatusListError(ValueError):
    """A status list or status list token that cannot be trusted or used, with the reason."""


def _check_bits(bits: object) -> int:
    # JSON `true` (a bool) and `2.0` (a float) compare equal to allowed widths: refuse them.
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in ALLOWED_BITS:
        raise StatusListError(f"bits must be one of {ALLOWED_BITS}, got {bits!r}.")
    return bits


def pack(statuses: Sequence[int] | bytes, bits: int = BITS) -> bytes:
    """Pack one status per entry, `bits` bits each, entry i at bit offset i*bits.

    Within each byte the least significant bits come first, as the draft specifies (its 1-bit
    example packs statuses 1,0,0,1,1,1,0,1 into 0xB9). Must build a 10,000,000-entry list well
    under a second in pure Python, so it never loops per entry: the statuses become one byte
    each, the `8 // bits` entries that share an output byte are taken as strided slices,
    shifted into place with a translation table, and merged with big-integer OR (the shifted
    fields never overlap, so OR is exact).
    """
    _check_bits(bits)
    try:
        data = bytes(statuses)
    except ValueError as exc:
        raise StatusListError(f"Statuses must fit in {bits} bits: {exc}.") from exc
    if data.translate(None, bytes(range(1 << bits))):
        raise StatusListError(f"Every status must be below {1 << bits} for {bits}-bit entries.")
    if bits == 8:
        return data
    per_byte = 8 // bits
    data += bytes(-len(data) % per_byte)
    size = len(data) // per_byte
    merged = 0
    for k, table in enumerate(_SHIFT_TABLES[bits]):
        merged |= int.from_bytes(data[k::per_byte].translate(table), "little")
    return merged.to_bytes(size, "little")


def unpack_status(packed: bytes, idx: int, bits: int = BITS) -> int:
    """The status of entry `idx`; the inverse of `pack` for a single entry."""
    _check_bits(bits)
    if idx < 0:
        raise StatusListError(f"Status index {idx} is negative.")
    offset = idx * bits
    byte_no = offset // 8
    if byte_no >= len(packed):
        raise StatusListError(
            f"Status index {idx} is beyond the list ({len(packed) * 8 // bits} entries)."
        )
    return (packed[byte_no] >> (offset % 8)) & ((1 << bits) - 1)


def encode_list(packed: bytes) -> str:
    """The draft's `lst`: base64url without padding of the zlib-format DEFLATE of `packed`.

    Level 9 because a list is compressed once and downloaded by every verifier.
    """
    return b64url(zlib.compress(packed, 9))


def decode_list(lst: str, max_bytes: int) -> bytes:
    """Inverse of `encode_list`, refusing anything that would inflate past `max_bytes`.

    A few kilobytes of DEFLATE can expand to gigabytes, and `lst` comes from the network, so
    the output is capped while inflating rather than checked afterwards.
    """
    if not isinstance(lst, str) or not _B64URL.fullmatch(lst):
        raise StatusListError("Status list 'lst' is not base64url text.")
    try:
        compressed = b64url_decode(lst)
    except (binascii.Error, ValueError) as exc:
        raise StatusListError(f"Status list 'lst' is not valid base64url: {exc}.") from exc
    inflater = zlib.decompressobj()
    try:
        # One byte over the limit is enough to know the limit is exceeded.
        packed = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise StatusListError(f"Status list is not valid zlib data: {exc}.") from exc
    if len(packed) > max_bytes:
        raise StatusListError(f"Status list inflates to more than {max_bytes} bytes.")
    if not inflater.eof:
        raise StatusListError("Status list zlib data is truncated.")
    if inflater.unused_data:
        raise StatusListError("Status list has trailing data after the zlib stream.")
    return packed


@dataclass(frozen=True)
class StatusListToken:
    """A verified, decoded status list token. Freshness (`expires_at`, `ttl`) is the caller's
    decision, because only the caller knows the current time and its maximum accepted age."""

    uri: str  # the list's URI, the JWT "sub"; a card's status reference must name it
    issued_at: int
    expires_at: int | None
    ttl: int | None  # seconds a verifier may cache it before fetching again
    bits: int
    packed: bytes = field(repr=False)  # megabytes for large lists: keep it out of logs
    kid: str

    def status(self, idx: int) -> int:
        """Status of entry `idx`; StatusListError if the list has no such entry."""
        return unpack_status(self.packed, idx, self.bits)


def _json_part(data: dict[str, Any]) -> str:
    return b64url(json.dumps(data, separators=(",", ":")).encode())


def sign_token(
    *,
    uri: str,
    packed: bytes,
    issued_at: int,
    expires_at: int | None,
    ttl: int | None,
    private_key: EllipticCurvePrivateKey,
    kid: str,
    issuer: str,
    bits: int = BITS,
) -> str:
    """Compact JWS of the status list, the body of `GET /status/{list_id}`."""
    _check_bits(bits)
    header = {"alg": ALG, "kid": kid, "typ": TYP}
    claims: dict[str, Any] = {"sub": uri, "iss": issuer, "iat": issued_at}
    if expires_at is not None:
        claims["exp"] = expires_at
    if ttl is not None:
        claims["ttl"] = ttl
    claims["status_list"] = {"bits": bits, "lst": encode_list(packed)}
    signing_input = f"{_json_part(header)}.{_json_part(claims)}"
    return f"{signing_input}.{b64url(sign(private_key, signing_input.encode()))}"


def _json_object(part: str, what: str) -> dict[str, Any]:
    if not _B64URL.fullmatch(part):
        raise StatusListError(f"Status list token {what} is not base64url.")
    try:
        value = json.loads(b64url_decode(part))
    except (binascii.Error, ValueError, RecursionError) as exc:  # deep nesting: unsigned input
        raise StatusListError(f"Status list token {what} is not base64url JSON.") from exc
    if not isinstance(value, dict):
        raise StatusListError(f"Status list token {what} is not a JSON object.")
    return value


def _int_claim(claims: Mapping[str, Any], name: str) -> int | None:
    """A NumericDate-like claim, or None when absent."""
    value = claims.get(name)
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise StatusListError(f"Status list token claim {name!r} must be a non-negative integer.")
    return value


def parse_token(
    token: str,
    *,
    public_keys: Mapping[str, EllipticCurvePublicKey],
    max_bytes: int = 16 * 1024 * 1024,
) -> StatusListToken:
    """Verify a `statuslist+jwt` and decode its list.

    The signature is checked before the payload is even parsed, so an attacker cannot make the
    verifier inflate an unsigned list; `max_bytes` still caps what a signed list may inflate to.
    """
    if not isinstance(token, str):
        raise StatusListError("Status list token must be text.")
    parts = token.split(".")
    if len(parts) != 3:
        raise StatusListError("Status list token is not a compact JWS (three dot-separated parts).")
    header_part, payload_part, signature_part = parts
    header = _json_object(header_part, "header")
    if header.get("typ") != TYP:
        raise StatusListError(f"Status list token typ must be {TYP!r}, got {header.get('typ')!r}.")
    if header.get("alg") != ALG:
        raise StatusListError(f"Status list token alg must be {ALG!r}, got {header.get('alg')!r}.")
    if "crit" in header:
        # RFC 7515 4.1.11: extensions we do not understand must make the token unacceptable.
        raise StatusListError("Status list token has critical header extensions.")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in public_keys:
        raise StatusListError(f"Status list token is signed by unknown key {kid!r}.")
    if not _B64URL.fullmatch(signature_part):
        raise StatusListError("Status list token signature is not base64url.")
    try:
        signature = b64url_decode(signature_part)
    except (binascii.Error, ValueError) as exc:
        raise StatusListError("Status list token signature is not base64url.") from exc
    if not verify(public_keys[kid], f"{header_part}.{payload_part}".encode(), signature):
        raise StatusListError(f"Status list token signature does not verify with key {kid!r}.")

    claims = _json_object(payload_part, "payload")
    uri = claims.get("sub")
    if not isinstance(uri, str) or not uri:
        raise StatusListError("Status list token has no 'sub' (the list URI).")
    status_list = claims.get("status_list")
    if not isinstance(status_list, dict):
        raise StatusListError("Status list token has no 'status_list' object.")
    bits = _check_bits(status_list.get("bits"))
    issued_at = _int_claim(claims, "iat")
    if issued_at is None:
        raise StatusListError("Status list token has no 'iat'.")
    return StatusListToken(
        uri=uri,
        issued_at=issued_at,
        expires_at=_int_claim(claims, "exp"),
        ttl=_int_claim(claims, "ttl"),
        bits=bits,
        packed=decode_list(status_list.get("lst"), max_bytes),
        kid=kid,
    )
