"""Keyed blind index for duplicate detection without plaintext search.

The index is an HMAC of the normalised name and date of birth: equal people
give equal tags, while a database dump reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date

# Below this code point (Latin, Greek, Cyrillic) combining marks are accents to fold away;
# in Indic and other scripts they are vowel signs and viramas, part of the letters.
_ACCENTED_SCRIPTS_END = 0x0530


def normalise_name(*parts: str) -> str:
    """Fold case, accents, punctuation and word order, so 'José  Pérez-Ruiz' = 'ruiz perez jose'."""
    text = unicodedata.normalize("NFKD", " ".join(parts))
    kept: list[str] = []
    base = " "
    for ch in text:
        if unicodedata.category(ch).startswith("M"):
            if ord(base) >= _ACCENTED_SCRIPTS_END:
                kept.append(ch)
            continue
        base = ch
        kept.append(ch.casefold() if ch.isalnum() else " ")
    return " ".join(sorted(unicodedata.normalize("NFC", "".join(kept)).split()))


def person_match_key(key: bytes, *, given_name: str, family_name: str, date_of_birth: date) -> str:
    material = f"{normalise_name(given_name, family_name)}|{date_of_birth.isoformat()}"
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()
