"""QR capacity arithmetic for the credential (alphanumeric mode, ECC Q)."""

from __future__ import annotations

from functools import lru_cache

import qrcode
from qrcode import constants, util

ERROR_CORRECTION = constants.ERROR_CORRECT_Q


@lru_cache(maxsize=64)
def alphanumeric_capacity(version: int) -> int:
    """How many Base45 characters fit in a QR of this version at ECC Q."""
    bits = util.BIT_LIMIT_TABLE[ERROR_CORRECTION][version]
    free = bits - 4 - util.length_in_bits(util.MODE_ALPHA_NUM, version)
    return (free // 11) * 2 + (1 if free % 11 >= 6 else 0)


def qr_version(text: str) -> int:
    """The smallest QR version that holds `text` in alphanumeric mode at ECC Q."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION)
    code.add_data(util.QRData(text, mode=util.MODE_ALPHA_NUM))
    code.make(fit=True)
    return int(code.version)
