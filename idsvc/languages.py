"""Languages a resident may name as preferred, by ISO 639-3 code (the code Claim 169 uses)."""

from __future__ import annotations

# Endonyms: a card shows each language in its own name.
LANGUAGES: dict[str, str] = {
    "eng": "English",
    "spa": "Español",
    "zho": "中文",
    "ara": "العربية",
    "ben": "বাংলা",
    "rus": "Русский",
    "hat": "Kreyòl ayisyen",
    "fra": "Français",
    "kor": "한국어",
    "pol": "Polski",
    "ase": "ASL",
    "ita": "Italiano",
    "por": "Português",
    "urd": "اردو",
    "jpn": "日本語",
    "tgl": "Tagalog",
    "vie": "Tiếng Việt",
    "ukr": "Українська",
    "ell": "Ελληνικά",
}


def display_name(code: str) -> str:
    return LANGUAGES.get(code, code)


def N_(text: str) -> str:
    """Mark text for the translation catalogs where it is defined; it is translated where
    it is shown (a printed card, a page)."""
    return text
