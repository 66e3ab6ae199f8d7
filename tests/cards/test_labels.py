"""Printed captions in the card's language, and 'if found' in the holder's own."""

from __future__ import annotations

from PIL import ImageChops

from idsvc.cards.labels import if_found_for_holder, labels_in
from idsvc.cards.render import CardLabels, render_back
from tests.cards.test_render import make_face


def test_captions_follow_the_card_language():
    assert labels_in("en") == CardLabels()
    spanish = labels_in("es")
    assert spanish.date_of_birth != CardLabels().date_of_birth
    assert spanish.if_found != CardLabels().if_found


def test_if_found_is_repeated_in_the_holders_first_language_with_a_catalog():
    assert if_found_for_holder(["ase", "ara"], "en") == labels_in("ar").if_found
    assert if_found_for_holder(["spa"], "es") is None  # already printed in Spanish
    assert if_found_for_holder(["eng"], "en") is None
    assert if_found_for_holder(["ita"], "en") is None  # no catalog: English is printed
    assert if_found_for_holder(["eng"], "pl") == CardLabels().if_found


def test_the_back_prints_the_second_caption():
    plain = make_face()
    bilingual = make_face(if_found_local=labels_in("bn").if_found)
    assert ImageChops.difference(render_back(plain).convert("L"),
                                 render_back(bilingual).convert("L")).getbbox() is not None
