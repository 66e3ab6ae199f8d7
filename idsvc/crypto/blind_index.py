"""Keyed blind index for duplicate detection without plaintext search.

The index is an HMAC of the normalised name and date of birth: equal people
give equal tags, while a database dump reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date


def normalise_name(*parts: str) -> str:
    """Fold case, accents, punctuation and word order, so 'José  Pérez-Ruiz' = 'ruiz perez jose'."""
    text = unicodedata.normalize("NFKD", " ".join(parts))
    kept = []
    for ch in text:
        if unicodedata.combining(ch):
            continue
        kept.append(ch.casefold() if ch.isalnum() else " ")
    return " ".join(sorted("".join(kept).split()))


def person_match_key(key: bytes, *, given_name: str, family_name: str, date_of_birth: date) -> str:
    material = f"{normalise_name(given_name, family_name)}|{date_of_birth.isoformat()}"
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()
