"""Base45 (RFC 9285) decoding at C speed, for the verification hot path.

The `base45` package decodes in a Python loop, which costs more than the
ES256 check itself. Here every step is a bytes operation or a big-integer
operation on the whole text at once: characters map to digits with
`bytes.translate`; read as one big-endian integer, each group of three digits
d0 d1 d2 is already a 24-bit lane `65536*d0 + 256*d1 + d2`; masks pick each
digit's byte out of every lane, and `d0 + 45*d1 + 2025*d2` computes every
group's value in place (a value is below 2**24, so no carry crosses lanes).
Deleting each lane's top byte, zero for a valid group, leaves the output.

Encoding, done twice per issued card (bulk imports issue thousands a second), looks
every two-byte group up in a table of its three characters.
"""

from __future__ import annotations

import sys
from array import array
from functools import cache

__all__ = ["Base45Error", "b45decode", "b45encode"]

_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
_DIGITS = bytes(_ALPHABET.index(c) if c in _ALPHABET else _INVALID for c in range(256))

# The low byte of every lane, for texts up to 12,288 characters (any QR); longer ones build theirs.
_MASK_GROUPS = 4096
_LOW_BYTES = int.from_bytes(b"\0\0\xff" * _MASK_GROUPS, "big")


class Base45Error(ValueError):
    """Not Base45: a character outside the alphabet, a bad length, or a group too large."""


@cache  # built on the first encoding: most processes only ever decode
def _triples() -> bytes:
    """The three characters of every two-byte group value, 0 to 65535, back to back."""
    alphabet = _ALPHABET
    return b"".join(bytes((alphabet[v % 45], alphabet[v // 45 % 45], alphabet[v // 2025]))
                    for v in range(65536))


def b45encode(data: bytes) -> bytes:
    """RFC 9285 Base45 of `data`, as ASCII bytes."""
    whole = len(data) - len(data) % 2
    groups = array("H", data[:whole])
    if sys.byteorder == "little":  # the groups are big-endian
        groups.byteswap()
    table = _triples()
    out = b"".join([table[3 * v : 3 * v + 3] for v in groups])
    if whole < len(data):
        last = data[-1]
        out += bytes((_ALPHABET[last % 45], _ALPHABET[last // 45]))
    return out


def _low_bytes(groups: int) -> int:
    """A mask of the low byte of each of `groups` 24-bit lanes."""
    if groups <= _MASK_GROUPS:
        return _LOW_BYTES >> (24 * (_MASK_GROUPS - groups))
    return int.from_bytes(b"\0\0\xff" * groups, "big")


def b45decode(text: str | bytes) -> bytes:
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    digits = data.translate(_DIGITS)
    size = len(digits)
    if _INVALID in digits or size % 3 == 1:
        raise Base45Error("Not Base45 text.")
    whole = size - size % 3
    out = bytearray()
    if whole:
        lanes = int.from_bytes(digits if whole == size else digits[:whole], "big")
        low = _low_bytes(whole // 3)
        values = (lanes >> 16 & low) + 45 * (lanes >> 8 & low) + 2025 * (lanes & low)
        if values >> 16 & low:  # a group above 65535
            raise Base45Error("Not Base45 text.")
        out = bytearray(values.to_bytes(whole, "big"))
        del out[0::3]
    if whole < size:
        last = digits[whole] + 45 * digits[whole + 1]
        if last > 0xFF:
            raise Base45Error("Not Base45 text.")
        out.append(last)
    return bytes(out)
