"""Font lookup and script handling for card text.

A resident's name can be in any script, but no single font covers them all, and Pillow
draws one font per call.  Text is therefore cut into *segments*: stretches that share a
writing direction and a font.  Segments come back in visual (left-to-right) order, so a
renderer only has to draw them one after the other on a common baseline; raqm shapes each
segment (Arabic joining, Indic conjuncts, Thai and Hebrew marks, mirrored brackets in
right-to-left text).

The bidi handling is a deliberately small subset of the Unicode Bidirectional Algorithm:
the paragraph direction comes from the first strong character, digits behave as
left-to-right islands (a "+" in front of a number stays with it, unlike in the UBA, so
"+1 555 0100" reads as written), and neutrals between two runs of the same direction take
that direction.  That is enough for names, addresses and phone numbers, which is all a
card prints.
"""

from __future__ import annotations

import enum
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont, features

FONT_DIRS_ENV = "IDSVC_FONTS_DIR"
DEFAULT_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
)
_COVERAGE_PROBE_SIZE = 24
_UNMAPPED_CODEPOINT = "\uffff"  # a noncharacter: no font maps it, so it renders as .notdef


class FontNotFoundError(RuntimeError):
    """A font file the card layout needs is not installed."""


class UnsupportedTextError(ValueError):
    """Text contains characters that none of the configured fonts can draw.

    Raised instead of printing empty boxes ("tofu"): a legal name printed wrongly on an ID
    card is worse than a card that is refused before printing.
    """


class Script(enum.Enum):
    """Font families the card uses; LATIN also covers Greek and Cyrillic (Noto Sans does).

    One member per Noto family rather than per language: Hindi and Nepali share Devanagari,
    Hebrew and Yiddish share Hebrew, Amharic and Tigrinya share Ethiopic.
    """

    LATIN = "latin"
    ARABIC = "arabic"
    HEBREW = "hebrew"
    BENGALI = "bengali"
    DEVANAGARI = "devanagari"
    GUJARATI = "gujarati"
    GURMUKHI = "gurmukhi"
    TAMIL = "tamil"
    THAI = "thai"
    ARMENIAN = "armenian"
    GEORGIAN = "georgian"
    ETHIOPIC = "ethiopic"
    CJK = "cjk"


@dataclass(frozen=True)
class FontSpec:
    """Where a script's fonts live and which Debian package provides them."""

    regular: str
    bold: str
    package: str
    face_name: str | None = None  # for collections (.ttc): the face to pick by name


def _noto_core(family: str) -> FontSpec:
    """Noto Sans <family>, named as Debian's fonts-noto-core installs it."""
    return FontSpec(
        f"NotoSans{family}-Regular.ttf", f"NotoSans{family}-Bold.ttf", "fonts-noto-core"
    )


FONT_SPECS: dict[Script, FontSpec] = {
    Script.LATIN: FontSpec("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "fonts-noto-core"),
    Script.ARABIC: _noto_core("Arabic"),
    Script.HEBREW: _noto_core("Hebrew"),
    Script.BENGALI: _noto_core("Bengali"),
    Script.DEVANAGARI: _noto_core("Devanagari"),
    Script.GUJARATI: _noto_core("Gujarati"),
    Script.GURMUKHI: _noto_core("Gurmukhi"),
    Script.TAMIL: _noto_core("Tamil"),
    Script.THAI: _noto_core("Thai"),
    Script.ARMENIAN: _noto_core("Armenian"),
    Script.GEORGIAN: _noto_core("Georgian"),
    Script.ETHIOPIC: _noto_core("Ethiopic"),
    Script.CJK: FontSpec(
        "NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "fonts-noto-cjk", "Noto Sans CJK SC"
    ),
}

# Unicode blocks, in code point order.  Blocks the installed Noto fonts do not draw (Tamil
# Supplement, Ethiopic Extended-B, Vedic Extensions) are left out on purpose: their
# characters fall through to LATIN and are refused there, with the same error.
_SCRIPT_RANGES: tuple[tuple[int, int, Script], ...] = (
    (0x0530, 0x058F, Script.ARMENIAN),
    (0x0590, 0x05FF, Script.HEBREW),
    (0x0600, 0x06FF, Script.ARABIC),
    (0x0750, 0x077F, Script.ARABIC),
    (0x0870, 0x08FF, Script.ARABIC),
    (0x0900, 0x097F, Script.DEVANAGARI),
    (0x0980, 0x09FF, Script.BENGALI),
    (0x0A00, 0x0A7F, Script.GURMUKHI),
    (0x0A80, 0x0AFF, Script.GUJARATI),
    (0x0B80, 0x0BFF, Script.TAMIL),
    (0x0E00, 0x0E7F, Script.THAI),
    (0x10A0, 0x10FF, Script.GEORGIAN),
    (0x1100, 0x11FF, Script.CJK),  # Hangul Jamo
    (0x1200, 0x139F, Script.ETHIOPIC),  # Ethiopic and Ethiopic Supplement
    (0x1C90, 0x1CBF, Script.GEORGIAN),  # Georgian Extended (Mtavruli capitals)
    (0x2D00, 0x2D2F, Script.GEORGIAN),  # Georgian Supplement (Nuskhuri)
    (0x2D80, 0x2DDF, Script.ETHIOPIC),  # Ethiopic Extended
    (0x2E80, 0x2FFF, Script.CJK),  # radicals, ideographic description
    (0x3000, 0x9FFF, Script.CJK),  # CJK punctuation, kana, Hangul compat, ideographs
    (0xA8E0, 0xA8FF, Script.DEVANAGARI),  # Devanagari Extended
    (0xA960, 0xA97F, Script.CJK),
    (0xAB00, 0xAB2F, Script.ETHIOPIC),  # Ethiopic Extended-A
    (0xAC00, 0xD7FF, Script.CJK),  # Hangul syllables
    (0xF900, 0xFAFF, Script.CJK),
    (0xFB13, 0xFB17, Script.ARMENIAN),  # Armenian ligatures
    (0xFB1D, 0xFB4F, Script.HEBREW),  # Hebrew presentation forms
    (0xFB50, 0xFDFF, Script.ARABIC),  # presentation forms A
    (0xFE30, 0xFE4F, Script.CJK),
    (0xFE70, 0xFEFF, Script.ARABIC),  # presentation forms B
    (0xFF00, 0xFFEF, Script.CJK),  # half/full width forms
    (0x20000, 0x3FFFF, Script.CJK),
)
# BCP 47 tags for raqm, which picks locale-specific glyphs and shaping rules by them.  The
# script alone does not say whether a Devanagari name is Hindi or Nepali, or an Ethiopic one
# Amharic or Tigrinya, so each script gets its most widely used language.
_LANGUAGE = {
    Script.ARABIC: "ar",
    Script.HEBREW: "he",
    Script.BENGALI: "bn",
    Script.DEVANAGARI: "hi",
    Script.GUJARATI: "gu",
    Script.GURMUKHI: "pa",
    Script.TAMIL: "ta",
    Script.THAI: "th",
    Script.ARMENIAN: "hy",
    Script.GEORGIAN: "ka",
    Script.ETHIOPIC: "am",
}
RTL_SCRIPTS: frozenset[Script] = frozenset({Script.ARABIC, Script.HEBREW})


def font_dirs() -> tuple[Path, ...]:
    """Directories searched for fonts: $IDSVC_FONTS_DIR (os.pathsep-separated) first."""
    extra = os.environ.get(FONT_DIRS_ENV, "")
    return tuple(Path(p) for p in extra.split(os.pathsep) if p) + DEFAULT_FONT_DIRS


@lru_cache(maxsize=64)
def find_font_file(filename: str, dirs: tuple[Path, ...], package: str) -> Path:
    """Return the first ``dirs`` entry holding ``filename``; explain the fix if none does."""
    for directory in dirs:
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in dirs)
    raise FontNotFoundError(
        f"Font {filename} not found (searched: {searched}). Install the Debian package "
        f"{package} (card fonts: fonts-noto-core fonts-noto-cjk) or point {FONT_DIRS_ENV} "
        "at a directory that contains it."
    )


@lru_cache(maxsize=8)
def face_index(path: Path, face_name: str) -> int:
    """Index of ``face_name`` inside a font collection; the order differs between builds."""
    index = 0
    while True:
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0]
        except OSError:
            break
        if family == face_name:
            return index
        index += 1
    raise FontNotFoundError(f"{path} has no face named {face_name!r}")


def _font_file(script: Script, bold: bool) -> tuple[Path, int]:
    """Path and face index of the script's regular or bold font."""
    spec = FONT_SPECS[script]
    path = find_font_file(spec.bold if bold else spec.regular, font_dirs(), spec.package)
    return path, face_index(path, spec.face_name) if spec.face_name else 0


def get_font(script: Script, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The raqm-shaped font for ``script`` at ``size`` px (cached per file, face and size)."""
    path, index = _font_file(script, bold)
    return _load_font(path, index, size)


@lru_cache(maxsize=256)
def _load_font(path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    if not features.check("raqm"):
        raise RuntimeError(
            "Pillow reports no libraqm support, so Arabic, Hebrew and Indic names cannot be "
            "shaped. PyPI wheels bundle raqm but load FriBiDi from the system (Debian: "
            "libfribidi0); check with python -m PIL.report."
        )
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)


@lru_cache(maxsize=32)
def _unshaped_probe_font(script: Script) -> ImageFont.FreeTypeFont:
    """The script's regular font without raqm: a plain cmap lookup, for :func:`covers`."""
    path, index = _font_file(script, bold=False)
    return ImageFont.truetype(
        path, _COVERAGE_PROBE_SIZE, index=index, layout_engine=ImageFont.Layout.BASIC
    )


@lru_cache(maxsize=4096)
def covers(script: Script, char: str) -> bool:
    """Whether the script's font has a glyph for ``char`` (it does not draw .notdef).

    Pillow does not expose the cmap, so the rendered glyph is compared with the one for an
    unmapped code point.  Whitespace is always accepted: its empty glyph cannot be told
    apart from a font that draws nothing, and an empty space is harmless either way.

    Most characters are probed through raqm, which also draws some the font has no glyph
    of its own for (Ć as C plus a combining acute, invisible format characters).  A
    combining mark is probed unshaped instead: raqm puts a lone mark on a dotted circle
    (U+25CC), which never looks like .notdef, so every font would seem to have every mark.
    """
    if char.isspace():
        return True
    if unicodedata.category(char)[0] == "M":
        font = _unshaped_probe_font(script)
    else:
        font = get_font(script, _COVERAGE_PROBE_SIZE)
    glyph, notdef = font.getmask(char), font.getmask(_UNMAPPED_CODEPOINT)
    return glyph.size != notdef.size or bytes(glyph) != bytes(notdef)


def script_of(char: str) -> Script | None:
    """The font family a letter needs, or None for characters any font may carry.

    Digits, punctuation, symbols, spaces and combining marks are "neutral": they are drawn
    in whichever neighbouring font has them, so "Wei 张伟" keeps its space in the Latin run.
    """
    code = ord(char)
    for low, high, script in _SCRIPT_RANGES:
        if low <= code <= high:
            return script
    return Script.LATIN if unicodedata.category(char).startswith("L") else None


@dataclass(frozen=True)
class Segment:
    """A stretch of text drawn with one font in one direction, in visual order."""

    text: str
    script: Script
    rtl: bool

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    @property
    def language(self) -> str | None:
        """OpenType language for raqm: picks the right CJK glyph variants and shaping rules."""
        if self.script is Script.CJK:
            return _cjk_language(self.text)
        return _LANGUAGE.get(self.script)


def _cjk_language(text: str) -> str:
    if any(0x3040 <= ord(c) <= 0x30FF for c in text):
        return "ja"
    if any(0xAC00 <= ord(c) <= 0xD7FF or 0x1100 <= ord(c) <= 0x11FF for c in text):
        return "ko"
    return "zh-Hans"


def _strong_direction(char: str) -> bool | None:
    """True for right-to-left letters, False for left-to-right ones and digits, else None.

    In a right-to-left script, punctuation the UBA classes as strongly right-to-left counts
    too: a Hebrew geresh (U+05F3) ending a name must stay with its letter, not drift to the
    far end of the Hebrew word when Latin text follows.
    """
    category = unicodedata.category(char)
    script = script_of(char)
    if script in RTL_SCRIPTS:
        strong = category[0] in "LN" or unicodedata.bidirectional(char) in ("R", "AL")
        return True if strong else None
    if script is not None or category == "Nd":
        return False
    return None


def _paragraph_rtl(text: str) -> bool:
    """UBA rule P2: the first letter decides (digits do not)."""
    for char in text:
        if script_of(char) is not None and unicodedata.category(char)[0] == "L":
            return script_of(char) in RTL_SCRIPTS
    return False


def _char_directions(text: str, paragraph_rtl: bool) -> list[bool]:
    """Resolve each character to right-to-left (True) or left-to-right (False)."""
    strong = [_strong_direction(char) for char in text]
    for i, char in enumerate(text[:-1]):
        if char == "+" and unicodedata.category(text[i + 1]) == "Nd":
            strong[i] = strong[i + 1]  # keep "+1 555 0100" together, as people write it
    resolved: list[bool] = []
    for i, (char, direction) in enumerate(zip(text, strong, strict=True)):
        before = resolved[-1] if resolved else paragraph_rtl
        if direction is not None:
            resolved.append(direction)
        elif unicodedata.category(char)[0] == "M":
            resolved.append(before)
        else:
            after = next((d for d in strong[i + 1 :] if d is not None), paragraph_rtl)
            resolved.append(before if before == after else paragraph_rtl)
    return resolved


def _font_runs(text: str) -> list[tuple[Script, str]]:
    """Split same-direction text into runs of one font; neutrals join a font that has them."""
    runs: list[tuple[Script, str]] = []
    for char in text:
        script = script_of(char)
        if script is None:
            current = runs[-1][0] if runs else None
            script = current if current and covers(current, char) else Script.LATIN
        if not covers(script, char):
            raise UnsupportedTextError(
                f"No card font can draw {char!r} (U+{ord(char):04X}) in {text!r}"
            )
        if runs and runs[-1][0] is script:
            runs[-1] = (script, runs[-1][1] + char)
        else:
            runs.append((script, char))
    return runs


@lru_cache(maxsize=2048)
def segments(text: str) -> tuple[Segment, ...]:
    """Cut ``text`` into font/direction segments in left-to-right visual order."""
    text = unicodedata.normalize("NFC", text)
    if not text:
        return ()
    paragraph_rtl = _paragraph_rtl(text)
    directions = _char_directions(text, paragraph_rtl)
    level_runs: list[tuple[int, list[Segment]]] = []
    start = 0
    for end in range(1, len(text) + 1):
        if end == len(text) or directions[end] != directions[start]:
            rtl = directions[start]
            level = _embedding_level(rtl, paragraph_rtl)
            pieces = [Segment(chunk, script, rtl) for script, chunk in _font_runs(text[start:end])]
            level_runs.append((level, pieces[::-1] if rtl else pieces))
            start = end
    return tuple(seg for _, pieces in _reorder(level_runs) for seg in pieces)


def _embedding_level(rtl: bool, paragraph_rtl: bool) -> int:
    if paragraph_rtl:
        return 1 if rtl else 2
    return 1 if rtl else 0


def _reorder(runs: list[tuple[int, list[Segment]]]) -> list[tuple[int, list[Segment]]]:
    """UBA rule L2: from the highest level down, reverse every run sequence at that level+."""
    ordered = list(runs)
    for level in range(max((lvl for lvl, _ in ordered), default=0), 0, -1):
        i = 0
        while i < len(ordered):
            if ordered[i][0] < level:
                i += 1
                continue
            j = i
            while j < len(ordered) and ordered[j][0] >= level:
                j += 1
            ordered[i:j] = ordered[i:j][::-1]
            i = j
    return ordered
