"""What a partner is told about a card: only the fields its scope names (DESIGN §6)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from idsvc.cards import credential as c
from idsvc.clock import age_on, iso
from idsvc.partners.scopes import Field

_PHOTO_TYPES = {c.PHOTO_FORMAT_WEBP: "image/webp", 1: "image/jpeg"}


def age_group(born: date, today: date) -> str:
    """Coarse on purpose: a museum learns 'senior', never a birthday."""
    age = age_on(born, today)
    if age < 18:
        return "minor"
    return "senior" if age >= 65 else "adult"


def _instant(claims: Mapping[Any, Any], key: int) -> str | None:
    value = claims.get(key)
    if not isinstance(value, int):
        return None
    return iso(datetime.fromtimestamp(value, UTC))


def _photo(claim: Mapping[Any, Any]) -> str | None:
    data = claim.get(c.F_PHOTO)
    if not isinstance(data, bytes):
        return None
    media = _PHOTO_TYPES.get(claim.get(c.F_PHOTO_FORMAT), "application/octet-stream")
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def _iso_birth_date(claim: Mapping[Any, Any], _: Mapping[Any, Any], __: date) -> str | None:
    born = c.birth_date(claim)
    return born.isoformat() if born else None


def _age_group(claim: Mapping[Any, Any], _: Mapping[Any, Any], today: date) -> str | None:
    born = c.birth_date(claim)
    return age_group(born, today) if born else None


Reader = Callable[[Mapping[Any, Any], Mapping[Any, Any], date], Any]
_READERS: dict[Field, Reader] = {
    Field.CARD_NUMBER: lambda claim, _, __: claim.get(c.F_ID),
    Field.FULL_NAME: lambda claim, _, __: claim.get(c.F_FULL_NAME),
    Field.FIRST_NAME: lambda claim, _, __: claim.get(c.F_FIRST_NAME),
    Field.DATE_OF_BIRTH: _iso_birth_date,
    Field.ADDRESS: lambda claim, _, __: claim.get(c.F_ADDRESS),
    Field.PHOTO: lambda claim, _, __: _photo(claim),
    Field.ISSUED_AT: lambda _, claims, __: _instant(claims, c.CLAIM_IAT),
    Field.EXPIRES_AT: lambda _, claims, __: _instant(claims, c.CLAIM_EXP),
    Field.CITY_RESIDENT: lambda _, __, ___: True,
    Field.AGE_GROUP: _age_group,
}


@lru_cache(maxsize=64)
def _readers_for(scope: frozenset[Field]) -> tuple[tuple[str, Reader], ...]:
    """The readers of a scope in a stable order, worked out once per scope."""
    return tuple((str(field), _READERS[field]) for field in sorted(scope) if field in _READERS)


def disclose(decoded: c.DecodedCredential, scope: frozenset[Field],
             today: date) -> dict[str, Any]:
    """The scoped card fields that the signed credential alone can tell (`benefits`, which
    needs the partner's catalogue, is added by the caller)."""
    claim, claims = decoded.claim169, decoded.claims
    return {name: read(claim, claims, today) for name, read in _readers_for(scope)}
