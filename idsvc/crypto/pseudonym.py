"""Pseudonymous card references for logs that must not name a card."""

from __future__ import annotations

import hmac


def card_reference(key: bytes, card_number: str) -> str:
    """The same card always gives the same reference; without the key it names nobody."""
    return hmac.digest(key, b"card:" + card_number.encode(), "sha256").hex()[:32]


def partner_view(key: bytes, partner_id: int, card_ref: str) -> str:
    """What one partner may see of a card in its own logs: stable for that partner, but
    two partners' logs cannot be joined on it."""
    return hmac.digest(key, f"partner:{partner_id}:{card_ref}".encode(), "sha256").hex()[:16]


def household_reference(key: bytes, address: str) -> str:
    """The same street address, however typed, gives the same household pseudonym."""
    folded = " ".join("".join(ch.casefold() if ch.isalnum() else " " for ch in address).split())
    return hmac.digest(key, b"household:" + folded.encode(), "sha256").hex()[:32]
