"""Page languages: gettext catalogs managed with Babel, chosen per request.

Catalogs live in `idsvc/web/locale/<locale>/LC_MESSAGES/messages.po` and are compiled in
memory at first use, so no generated `.mo` file is kept in git. A user's choice is a
cookie (remembered for a year); without one, the browser's Accept-Language decides.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import HTTPConnection

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGE_COOKIE = "idsvc_lang"
DEFAULT = "en"


@dataclass(frozen=True)
class UiLanguage:
    code: str  # the Babel locale of the catalog
    name: str  # endonym, as the language picker shows it
    iso639_3: str  # the code residents' preferred languages use (Claim 169)
    rtl: bool = False

    @property
    def html_lang(self) -> str:
        return self.code.replace("_", "-")


LANGUAGES: dict[str, UiLanguage] = {lang.code: lang for lang in (
    UiLanguage("en", "English", "eng"),
    UiLanguage("es", "Español", "spa"),
    UiLanguage("zh_Hans", "简体中文", "zho"),
    UiLanguage("ar", "العربية", "ara", rtl=True),
    UiLanguage("bn", "বাংলা", "ben"),
    UiLanguage("ru", "Русский", "rus"),
    UiLanguage("ht", "Kreyòl ayisyen", "hat"),
    UiLanguage("fr", "Français", "fra"),
    UiLanguage("ko", "한국어", "kor"),
    UiLanguage("pl", "Polski", "pol"),
)}
_BY_ISO639_3 = {lang.iso639_3: lang.code for lang in LANGUAGES.values()}
# Browser tags that name a catalog by another spelling.
_ALIASES = {"zh": "zh_Hans", "zh-cn": "zh_Hans", "zh-sg": "zh_Hans", "zh-hans": "zh_Hans"}


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalog of a language; English is the source text itself."""
    path = catalog_path(code)
    if code == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def from_tag(tag: str) -> str | None:
    """A catalog for a browser language tag (`es-MX` -> `es`), or None."""
    tag = tag.strip().lower().replace("_", "-")
    if tag in _ALIASES:
        return _ALIASES[tag]
    for code in LANGUAGES:
        if code.lower().replace("_", "-") == tag:
            return code
    base = tag.split("-", 1)[0]
    return _ALIASES.get(base) or (base if base in LANGUAGES else None)


def _accepted(header: str) -> list[str]:
    """Accept-Language tags, best first (RFC 9110 quality values)."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(connection: HTTPConnection) -> str:
    """The user's choice (cookie), else the browser's first language we have, else English."""
    chosen = connection.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for tag in _accepted(connection.headers.get("accept-language", "")):
        code = from_tag(tag)
        if code is not None:
            return code
    return DEFAULT


def for_resident(preferred_languages: list[str]) -> str:
    """The catalog for a resident's preferred languages (ISO 639-3), else English."""
    for code in preferred_languages:
        if code in _BY_ISO639_3:
            return _BY_ISO639_3[code]
    return DEFAULT
