"""Base45 (RFC 9285) decoding at C speed, for the verification hot path.

The `base45` package decodes in a Python loop, which costs more than the
ES256 check itself. Here every step is a bytes operation or one big-integer
multiply-add: characters map to digits with `bytes.translate`, each group of
three digits becomes one 24-bit lane of three big integers, and
`lane0 + 45*lane1 + 2025*lane2` computes all groups at once with no carry
between lanes (a group's value is below 2**24). Encoding, done once per card,
stays with the `base45` package.
"""

from __future__ import annotations

from base45 import b45encode

__all__ = ["Base45Error", "b45decode", "b45encode"]

_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
_DIGITS = bytes(_ALPHABET.index(c) if c in _ALPHABET else _INVALID for c in range(256))


class Base45Error(ValueError):
    """Not Base45: a character outside the alphabet, a bad length, or a group too large."""


def _lane(digits: bytes, count: int) -> int:
    """The digits as the low byte of consecutive 24-bit big-endian lanes, as one integer."""
    lanes = bytearray(3 * count)
    lanes[2::3] = digits
    return int.from_bytes(lanes, "big")


def b45decode(text: str | bytes) -> bytes:
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    digits = data.translate(_DIGITS)
    if _INVALID in digits or len(digits) % 3 == 1:
        raise Base45Error("Not Base45 text.")
    whole = len(digits) - len(digits) % 3
    groups = whole // 3
    out = bytearray()
    if groups:
        value = (_lane(digits[0:whole:3], groups) + 45 * _lane(digits[1:whole:3], groups)
                 + 2025 * _lane(digits[2:whole:3], groups))
        lanes = value.to_bytes(3 * groups, "big")
        if lanes[0::3] != bytes(groups):  # a group above 65535
            raise Base45Error("Not Base45 text.")
        out = bytearray(2 * groups)
        out[0::2] = lanes[1::3]
        out[1::2] = lanes[2::3]
    if whole < len(digits):
        last = digits[whole] + 45 * digits[whole + 1]
        if last > 0xFF:
            raise Base45Error("Not Base45 text.")
        out.append(last)
    return bytes(out)
