"""Script detection, font choice and bidi order for the scripts added beyond Latin/Arabic/CJK.

Names from the languages a city like New York must print: every one has to reach its own
Noto family (plain Noto Sans has none of these glyphs, so a wrong choice prints boxes).
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageDraw

from idsvc.cards.fonts import Script, Segment, covers, get_font, script_of, segments
from idsvc.cards.render import NAME, NAME_BOX, Box, draw_text

# name, its script, the Noto family that must draw it, the raqm language tag
NAMES: dict[str, tuple[str, Script, str, str]] = {
    "hebrew": ("יעקב כהן", Script.HEBREW, "Noto Sans Hebrew", "he"),
    "yiddish pointed": ("אַבְרָהָם", Script.HEBREW, "Noto Sans Hebrew", "he"),
    "hindi": ("अनिल कुमार", Script.DEVANAGARI, "Noto Sans Devanagari", "hi"),
    "gujarati": ("ગીતા પટેલ", Script.GUJARATI, "Noto Sans Gujarati", "gu"),
    "punjabi": ("ਹਰਪ੍ਰੀਤ ਸਿੰਘ", Script.GURMUKHI, "Noto Sans Gurmukhi", "pa"),
    "tamil": ("முருகன்", Script.TAMIL, "Noto Sans Tamil", "ta"),
    "thai": ("สมชาย ใจดี", Script.THAI, "Noto Sans Thai", "th"),
    "armenian": ("Արամ Պետրոսյան", Script.ARMENIAN, "Noto Sans Armenian", "hy"),
    "georgian": ("გიორგი ბერიძე", Script.GEORGIAN, "Noto Sans Georgian", "ka"),
    "amharic": ("አበበ ቢቂላ", Script.ETHIOPIC, "Noto Sans Ethiopic", "am"),
}


@pytest.mark.parametrize(("name", "script", "family", "language"), NAMES.values(), ids=NAMES)
def test_name_is_one_segment_in_its_scripts_font(
    name: str, script: Script, family: str, language: str
) -> None:
    (seg,) = segments(name)
    assert (seg.text, seg.script, seg.language) == (name, script, language)
    assert get_font(script, 20).getname()[0] == family
    assert get_font(script, 20, bold=True).getname() == (family, "Bold")


@pytest.mark.parametrize(("name", "script"), [v[:2] for v in NAMES.values()], ids=NAMES)
def test_every_character_of_the_name_has_a_glyph(name: str, script: Script) -> None:
    assert all(covers(seg.script, char) for seg in segments(name) for char in seg.text)
    # The check can fail: the Latin font, which the text would get otherwise, has none.
    assert not any(covers(Script.LATIN, char) for char in name if not char.isspace())
    canvas = Image.new("L", (NAME_BOX.w, NAME_BOX.h), 255)
    draw_text(ImageDraw.Draw(canvas), name, Box(0, 0, NAME_BOX.w, NAME_BOX.h), NAME, 0)
    assert ImageChops.invert(canvas).getbbox() is not None


@pytest.mark.parametrize(
    ("char", "script"),
    [
        ("\ufb4f", Script.HEBREW),  # presentation form (alef-lamed) that NFC keeps
        ("\ua8f2", Script.DEVANAGARI),  # Devanagari Extended
        ("\u1c90", Script.GEORGIAN),  # Mtavruli capital
        ("\u2d00", Script.GEORGIAN),  # Nuskhuri
        ("\u1380", Script.ETHIOPIC),  # Ethiopic Supplement
        ("\u2d80", Script.ETHIOPIC),  # Ethiopic Extended
        ("\uab01", Script.ETHIOPIC),  # Ethiopic Extended-A
        ("\ufb13", Script.ARMENIAN),  # Armenian ligature men-now
    ],
)
def test_supplementary_blocks_use_their_scripts_font(char: str, script: Script) -> None:
    assert script_of(char) is script
    assert covers(script, char)
    assert [seg.script for seg in segments(char)] == [script]


def test_hebrew_name_is_right_to_left() -> None:
    assert segments("יעקב כהן") == (Segment("יעקב כהן", Script.HEBREW, rtl=True),)


def test_mixed_hebrew_latin_and_digits_are_ordered_visually() -> None:
    visual = [(s.text, s.rtl) for s in segments("Jacob יעקב כהן")]
    assert visual == [("Jacob ", False), ("יעקב כהן", True)]
    # Right-to-left paragraph: what is written last sits at the left end.
    visual = [(s.text, s.rtl) for s in segments("שרה כהן +1 555 0100")]
    assert visual == [("+1 555 0100", False), ("שרה כהן ", True)]
    visual = [(s.text, s.rtl) for s in segments("כהן Smith 3")]
    assert visual == [("Smith 3", False), ("כהן ", True)]


def test_hebrew_geresh_ending_a_name_stays_with_its_letter() -> None:
    """U+05F3 is strongly right-to-left in the UBA; as a neutral it would drift to the end."""
    george = "\u05d2\u05f3\u05d5\u05e8\u05d2\u05f3"  # gimel geresh vav resh gimel geresh
    visual = [(s.text, s.rtl) for s in segments(f"George {george}")]
    assert visual == [("George ", False), (george, True)]


def test_a_combining_mark_the_font_lacks_is_not_covered() -> None:
    """raqm draws a lone mark on a dotted circle; that must not pass for the mark's glyph."""
    assert covers(Script.LATIN, "\u0301")
    assert not covers(Script.HEBREW, "\u0301")
    assert covers(Script.HEBREW, "\u05b7")  # patah, which Noto Sans Hebrew does have
    assert not covers(Script.LATIN, "\u05b7")
