"""Keep every language's catalog in step with the page text.

`make messages` extracts the marked text into `messages.pot` and runs `update` here,
which adds new messages to each catalog (untranslated) and drops retired ones. The test
suite calls `extract` and `missing` so that a page whose text is not in the template, or
a catalog that lacks a translation, fails CI.
"""

from __future__ import annotations

import sys
from configparser import ConfigParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from idsvc.web.i18n import DEFAULT, DOMAIN, LANGUAGES, LOCALE_DIR, catalog_path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


MessageKey = tuple[str | None, str]  # (context, first msgid)


def _key(message_id: str | tuple[str, ...], context: str | None) -> MessageKey:
    return context, message_id if isinstance(message_id, str) else message_id[0]


def extract() -> set[MessageKey]:
    """The messages marked in the sources now, as babel.cfg says where to look."""
    config = ConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map, options_map = [], {}
    for section in config.sections():
        method, _, pattern = section.partition(":")
        method_map.append((pattern.strip(), method.strip()))
        options_map[pattern.strip()] = dict(config.items(section))
    found = extract_from_dir(ROOT, method_map, options_map)
    return {_key(message, context) for _, _, message, _, context in found}


def template_ids() -> set[MessageKey]:
    return {_key(m.id, m.context) for m in _read(TEMPLATE) if m.id}


def missing(code: str) -> list[MessageKey]:
    """Messages of the template that this language lacks (absent, empty or fuzzy)."""
    catalog = _read(catalog_path(code), code)
    gaps = []
    for message in _read(TEMPLATE):
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = found.string if found is not None else None
        translated = (all(strings) if isinstance(strings, tuple | list) else bool(strings))
        if found is None or found.fuzzy or not translated:
            gaps.append(_key(message.id, message.context))
    return gaps


def update() -> None:
    """Bring every catalog up to the template (new messages untranslated)."""
    template = _read(TEMPLATE)
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        path = catalog_path(code)
        catalog = _read(path, code) if path.exists() else Catalog(locale=code, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, omit_header=False, sort_output=True,
                     ignore_obsolete=True, include_previous=False, width=100)


if __name__ == "__main__":
    if sys.argv[1:] != ["update"]:
        raise SystemExit("usage: python -m idsvc.web.catalogs update")
    update()
