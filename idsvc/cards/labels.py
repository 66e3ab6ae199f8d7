"""Printed card captions in one of the page languages, from the same gettext catalogs."""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache

from idsvc.cards.render import CardLabels
from idsvc.web import i18n


@lru_cache(maxsize=len(i18n.LANGUAGES))
def labels_in(code: str) -> CardLabels:
    """Every caption of the card in language `code` (English where it has no catalog)."""
    gettext = i18n.translations(code).gettext
    english = CardLabels()
    return CardLabels(**{f.name: gettext(getattr(english, f.name)) for f in fields(CardLabels)})


def if_found_for_holder(preferred_languages: list[str], card_language: str) -> str | None:
    """The 'if found' caption in the holder's first language that has a catalog, when it is
    not the language the card is printed in."""
    code = i18n.for_resident(preferred_languages)
    if code == card_language or (code == i18n.DEFAULT and card_language == i18n.DEFAULT):
        return None
    local = labels_in(code).if_found
    return None if local == labels_in(card_language).if_found else local
