"""The mailer letter that goes in the envelope with a mailed card (one A4 page each).

It shows the holder's name and address as on the record (placed for a window envelope),
the one-time activation code (shown nowhere else), and how to activate. The text is in
the holder's first preferred language that has a page catalog, else English.

Every line is shaped by HarfBuzz (uharfbuzz), so Arabic letters join and Indic vowel
signs sit where they belong, and put in visual order by fpdf2's Unicode bidi algorithm.
Latin, Greek and Cyrillic print in Noto Sans, other scripts in their Noto family, and
Chinese, Japanese and Korean in Noto Sans CJK: a large collection, loaded only for a
batch that has such text, in its Korean face for Korean letters, else Simplified Chinese.
A letter in a right-to-left language runs right to left and is aligned right; the return
and window addresses stay on the left, where the envelope's window is, and the card
number and code always read left to right, as they are typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fpdf import FPDF
from fpdf.enums import Align, WrapMode

from idsvc.cards.fonts import (
    FONT_SPECS,
    FontNotFoundError,
    Script,
    face_index,
    find_font_file,
    font_dirs,
    script_of,
)
from idsvc.config import Settings
from idsvc.web import i18n

# Fallbacks in lookup order: Bengali before Devanagari, whose danda it shares.
_SCRIPT_FONTS = tuple(script for script in Script if script not in (Script.LATIN, Script.CJK))
_CJK_FACES = {"ko": "Noto Sans CJK KR"}  # else FONT_SPECS' face, Simplified Chinese
_UNSPACED = frozenset({"zh_Hans"})  # no spaces between words: a line may break anywhere
_MARGIN = 20
_WINDOW_TOP = 45  # DL window envelopes show 45-90 mm from the top, 20 mm from the left


@dataclass(frozen=True)
class Letter:
    full_name: str
    address_lines: tuple[str, ...]
    card_number: str  # as displayed, in groups
    code: str
    expires_on: date | None
    languages: tuple[str, ...]  # the holder's preferred languages (ISO 639-3)


@dataclass(frozen=True)
class Sender:
    city_name: str
    return_address: str
    activate_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Sender:
        return cls(settings.city_name, settings.return_address,
                   f"{settings.issuer.rstrip('/')}/card/activate")


@dataclass(frozen=True)
class _Body:
    """A letter's translated text, in print order, and how its language runs."""

    language: str
    heading: str
    before: tuple[str, ...]  # paragraphs before the card number and code
    facts: tuple[tuple[str, str], ...]  # (label, value)
    after: tuple[str, ...]

    @classmethod
    def of(cls, letter: Letter, sender: Sender) -> _Body:
        language = i18n.for_resident(list(letter.languages))
        t = i18n.translations(language)
        return cls(
            language,
            t.gettext("Your city ID card is here: activate it before use"),
            (t.gettext(
                "Your card is in this envelope. It does not work yet: until you activate it, "
                "anyone who checks it is told it is suspended. This protects you if the letter "
                "is lost in the post."),
             t.gettext(
                "To activate it, go to %(url)s, type your card number and the code below. If "
                "you have an account, you can also activate it on your card page after you log "
                "in.") % {"url": sender.activate_url}),
            ((t.gettext("Card number"), letter.card_number),
             (t.gettext("Activation code"), letter.code)),
            (t.gettext(
                "The code works once. Keep this letter away from your card until you have "
                "activated it, then destroy it. A card not activated within a few weeks is "
                "suspended: you can then get it working at a service centre."),
             t.gettext(
                "If you did not ask for a card, do not activate it: tell a service centre.")),
        )

    @property
    def rtl(self) -> bool:
        return i18n.LANGUAGES[self.language].rtl

    def texts(self) -> tuple[str, ...]:
        return (self.heading, *self.before, *(label for label, _ in self.facts), *self.after)


class _Letters(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(True, margin=_MARGIN)
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_creator("idsvc")
        self._fallbacks = self._fonts()
        self._cjk: dict[str, str | None] = {}  # face name -> family, None if not installed
        self._rtl, self._wrap = False, WrapMode.WORD  # the current letter's body

    def _fonts(self) -> list[str]:
        """Add Noto Sans and every installed script font; return the fallback families."""
        dirs = font_dirs()
        latin = FONT_SPECS[Script.LATIN]
        self.add_font("noto", "", str(find_font_file(latin.regular, dirs, latin.package)))
        self.add_font("noto", "B", str(find_font_file(latin.bold, dirs, latin.package)))
        fallbacks = []
        for script in _SCRIPT_FONTS:
            spec, family = FONT_SPECS[script], f"noto-{script.value}"
            for style, filename in (("", spec.regular), ("B", spec.bold)):
                try:
                    self.add_font(family, style, str(find_font_file(filename, dirs, spec.package)))
                except FontNotFoundError:
                    continue
                if family not in fallbacks:
                    fallbacks.append(family)
        return fallbacks

    def _cjk_family(self, language: str) -> str | None:
        """The CJK face for a letter in ``language``, added on first use."""
        spec = FONT_SPECS[Script.CJK]
        face = _CJK_FACES.get(language, spec.face_name or "")
        if face not in self._cjk:
            family, added = f"noto-cjk-{face.rsplit(' ', 1)[-1].lower()}", None
            for style, filename in (("", spec.regular), ("B", spec.bold)):
                try:
                    path = find_font_file(filename, font_dirs(), spec.package)
                    index = face_index(path, face) if face else 0
                except FontNotFoundError:
                    continue
                self.add_font(family, style, str(path), collection_font_number=index)
                added = family
            self._cjk[face] = added
        return self._cjk[face]

    def _use_fallbacks(self, language: str, texts: tuple[str, ...]) -> None:
        """Fall back to the script fonts, and to CJK if any of the letter's text needs it."""
        fallbacks = list(self._fallbacks)
        if any(script_of(char) is Script.CJK for text in texts for char in text):
            cjk = self._cjk_family(language)
            fallbacks += [cjk] if cjk else []
        self.set_fallback_fonts(fallbacks, exact_match=False)

    def _direction(self, direction: str | None) -> None:
        """Base direction of the next lines: "ltr", "rtl", or None for each line's own."""
        self.set_text_shaping(True, direction=direction)

    def _body_direction(self) -> None:
        self._direction("rtl" if self._rtl else "ltr")

    def letter(self, letter: Letter, sender: Sender) -> None:
        body = _Body.of(letter, sender)
        self._use_fallbacks(body.language, (sender.city_name, sender.return_address,
                                            letter.full_name, *letter.address_lines,
                                            *body.texts()))
        self.add_page()
        self._direction(None)
        self.set_font("noto", "B", 16)
        self.cell(0, 8, sender.city_name, new_x="LMARGIN", new_y="NEXT")
        self.set_font("noto", "", 8)
        self.cell(0, 5, ", ".join(sender.return_address.splitlines()), new_x="LMARGIN",
                  new_y="NEXT")
        self.set_y(_WINDOW_TOP)
        self.set_font("noto", "", 11)
        for line in (letter.full_name, *letter.address_lines):
            self.cell(0, 5.5, line, new_x="LMARGIN", new_y="NEXT")
        # The body runs in the direction of the letter's language.
        self._rtl = body.rtl
        self._wrap = WrapMode.CHAR if body.language in _UNSPACED else WrapMode.WORD
        self._body_direction()
        self.set_y(_WINDOW_TOP + 50)
        self.set_font("noto", "B", 14)
        self._paragraph(7, body.heading)
        self.set_font("noto", "", 11)
        for text in body.before:
            self.ln(3)
            self._paragraph(5.5, text)
        self.ln(5)
        for label, value in body.facts:
            self._fact(label, value)
        self.ln(2)
        self.set_font("noto", "", 11)
        for text in body.after:
            self.ln(3)
            self._paragraph(5.5, text)

    def _paragraph(self, height: float, text: str) -> None:
        self.multi_cell(0, height, text, align=Align.R if self._rtl else Align.J,
                        wrapmode=self._wrap, new_x="LMARGIN", new_y="NEXT")

    def _fact(self, label: str, value: str) -> None:
        align = Align.R if self._rtl else Align.L
        self.set_font("noto", "", 10)
        self.cell(0, 5, label, align=align, new_x="LMARGIN", new_y="NEXT")
        self._direction("ltr")  # "1234 5678 9012" would read "9012 5678 1234" in an RTL line
        self.set_font("noto", "B", 18)
        self.cell(0, 9, value, align=align, new_x="LMARGIN", new_y="NEXT")
        self._body_direction()


def letters_pdf(letters: list[Letter], sender: Sender, *, title: str) -> bytes:
    """One page per letter, in batch order, ready for a window envelope."""
    pdf = _Letters()
    pdf.set_title(title)
    for letter in letters:
        pdf.letter(letter, sender)
    return bytes(pdf.output())
