"""Card numbers: 11 random digits and a Damm check digit.

Random, so a number says nothing about when or where a card was issued and
cannot be guessed from a neighbour's. The Damm digit catches every single
wrong digit and every swap of two adjacent digits typed at a desk.
"""

from __future__ import annotations

import secrets

LENGTH = 12
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_digit(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


def new_card_number() -> str:
    body = str(secrets.randbelow(9 * 10 ** (LENGTH - 2)) + 10 ** (LENGTH - 2))
    return body + str(damm_digit(body))


def normalise(text: str) -> str | None:
    """The canonical 12 digits of a typed card number, or None when it cannot be one."""
    digits = "".join(ch for ch in text if ch not in " -")
    if len(digits) != LENGTH or not digits.isascii() or not digits.isdigit():
        return None
    return digits if damm_digit(digits) == 0 else None


def display(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
