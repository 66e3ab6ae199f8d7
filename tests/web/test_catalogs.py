"""Every language has every message: a page text added without its translations fails here."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from idsvc.cards.labels import labels_in
from idsvc.cards.render import CardLabels
from idsvc.web import catalogs
from idsvc.web.i18n import DEFAULT, LANGUAGES, catalog_path

TRANSLATED = [code for code in LANGUAGES if code != DEFAULT]
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_the_template_holds_every_marked_message():
    """`make messages` was run after the last change of page text."""
    assert catalogs.extract() == catalogs.template_ids()


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_language_translates_every_message(code):
    assert catalogs.missing(code) == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_their_placeholders(code):
    with catalog_path(code).open("rb") as handle:
        catalog = read_po(handle, locale=code)
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string:
            wanted = set(_PLACEHOLDER.findall(message.id))
            assert set(_PLACEHOLDER.findall(message.string)) == wanted, (code, message.id)


@pytest.mark.parametrize("code", TRANSLATED)
def test_card_captions_are_translated(code):
    assert labels_in(code).if_found != CardLabels().if_found


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_public_pages_render_in_every_language(client, code):
    for path in ("/", "/staff/login"):
        page = client.get(path, headers={"Accept-Language": code.replace("_", "-")})
        assert page.status_code == 200
        assert f'<html lang="{LANGUAGES[code].html_lang}"' in page.text
