"""What each kind of partner may learn from a card (DESIGN §6): the one table to read."""

from __future__ import annotations

from enum import StrEnum


class PartnerKind(StrEnum):
    LAW_ENFORCEMENT = "law_enforcement"
    BANK = "bank"
    LIBRARY = "library"
    CULTURAL = "cultural"
    MERCHANT = "merchant"
    PHARMACY = "pharmacy"
    TRANSIT = "transit"
    HEALTHCARE = "healthcare"


class Field(StrEnum):
    CARD_NUMBER = "card_number"
    FULL_NAME = "full_name"
    FIRST_NAME = "first_name"
    DATE_OF_BIRTH = "date_of_birth"
    ADDRESS = "address"
    PHOTO = "photo"
    ISSUED_AT = "issued_at"
    EXPIRES_AT = "expires_at"
    CITY_RESIDENT = "city_resident"
    AGE_GROUP = "age_group"
    BENEFITS = "benefits"  # the partner's own offers this card may use now


_OFFERS = frozenset({Field.FIRST_NAME, Field.AGE_GROUP, Field.BENEFITS})
DEFAULT_SCOPES: dict[PartnerKind, frozenset[Field]] = {
    PartnerKind.LAW_ENFORCEMENT: frozenset({Field.CARD_NUMBER, Field.FULL_NAME,
                                            Field.DATE_OF_BIRTH, Field.PHOTO,
                                            Field.EXPIRES_AT}),
    PartnerKind.BANK: frozenset({Field.CARD_NUMBER, Field.FULL_NAME, Field.DATE_OF_BIRTH,
                                 Field.ADDRESS, Field.PHOTO, Field.ISSUED_AT,
                                 Field.EXPIRES_AT}),
    PartnerKind.LIBRARY: frozenset({Field.FULL_NAME, Field.CITY_RESIDENT, Field.AGE_GROUP,
                                    Field.EXPIRES_AT}),
    PartnerKind.CULTURAL: _OFFERS,
    PartnerKind.MERCHANT: _OFFERS,
    PartnerKind.PHARMACY: _OFFERS,
    PartnerKind.TRANSIT: _OFFERS,
    PartnerKind.HEALTHCARE: frozenset({Field.FULL_NAME, Field.DATE_OF_BIRTH}),
}


def effective_scope(kind: str, narrowed: list[str] | None) -> frozenset[Field]:
    """The kind's default, or the administrator's narrower choice (never wider)."""
    default = DEFAULT_SCOPES[PartnerKind(kind)]
    if narrowed is None:
        return default
    return default & frozenset(Field(name) for name in narrowed)
