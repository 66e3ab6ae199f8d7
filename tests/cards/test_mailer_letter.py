"""The mailer letter prints every resident's name in a font that has its letters, shaped,
and runs in the direction of the letter's language (Arabic: right to left, aligned right)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from pypdf import PdfReader

from idsvc.cards.mailer import Letter, Sender, letters_pdf
from tests.cards.test_mailing import approve, batch_with_mailer

SENDER = Sender("Riverton", "City Hall\n1 Main Street", "https://id.riverton.example/card/activate")
NUMBER, CODE = "1234 5678 9012", "ABCD-EFGH-JKLM"
PAGE_MIDDLE = 595.28 / 2  # A4, in points
NEAR_LEFT = 25 / 25.4 * 72  # within 5 mm of the 20 mm left margin, in points


@dataclass(frozen=True)
class Run:
    """A piece of text as drawn: where its line starts (points) and its font's name."""

    text: str
    x: float
    font: str


def letter(name: str, *languages: str) -> Letter:
    return Letter(name, ("41 Hudson Street", "10013 Riverton"), NUMBER, CODE, None, languages)


def runs(pdf: bytes, page: int = 0) -> list[Run]:
    """A page's text runs in content order (fpdf2 writes a line left to right).

    pypdf reads the encoding fpdf2 embeds for an OpenType/CFF font (Noto Sans CJK) one
    byte at a time, so each CJK character comes out after a NUL: those are dropped.
    """
    found: list[Run] = []

    def visit(text, cm, tm, font, size) -> None:
        text = text.replace("\x00", "")
        if text.strip():
            found.append(Run(text, tm[4] * cm[0] + cm[4], str(font.get("/BaseFont", ""))))

    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return found


def drawn_with(pdf: bytes, font: str, page: int = 0) -> set[str]:
    """Every character a page draws in ``font`` (a subset's name is "ABCDEF+Font")."""
    return {char for run in runs(pdf, page) if run.font.split("+")[-1] == font
            for char in run.text}


@pytest.mark.parametrize(("name", "language", "font"), [
    ("Amaru Quispe Mamani", "eng", "NotoSans"),
    ("محمد علي", "ara", "NotoSansArabic"),
    ("সুমাইয়া রহমান", "ben", "NotoSansBengali"),
    ("张伟", "zho", "NotoSansCJKSC"),
    ("김민준", "kor", "NotoSansCJKKR"),
    ("王芳", "eng", "NotoSansCJKSC"),  # a Chinese name in an English letter
])
def test_every_name_is_drawn_in_a_font_for_its_script(name, language, font):
    pdf = letters_pdf([letter(name, language)], SENDER, title="mailers")
    assert set(name) - {" "} <= drawn_with(pdf, font)
    text = "".join(run.text for run in runs(pdf))
    assert NUMBER in text and CODE in text


def test_an_arabic_name_reads_right_to_left():
    pdf = letters_pdf([letter("محمد علي", "eng")], SENDER, title="mailers")
    words = [set(run.text) for run in runs(pdf) if set(run.text) & set("محمدعلي")]
    # Left to right on the page: the second word first; compared as sets of letters, as a
    # shaped word may come out of the PDF in either order.
    assert words[:2] == [set("علي"), set("محمد")]


def test_an_arabic_letter_is_aligned_right_and_its_card_number_reads_left_to_right():
    arabic = runs(letters_pdf([letter("Amaru Quispe", "ara")], SENDER, title="mailers"))
    english = runs(letters_pdf([letter("Amaru Quispe", "eng")], SENDER, title="mailers"))
    for drawn in (arabic, english):
        assert [run.text for run in drawn if NUMBER in run.text] == [NUMBER]
        assert next(run for run in drawn if run.text == "Amaru Quispe").x < NEAR_LEFT  # the window
    assert next(run for run in english if run.text == NUMBER).x < NEAR_LEFT
    assert next(run for run in arabic if run.text == NUMBER).x > PAGE_MIDDLE
    assert next(run for run in arabic if run.text == CODE).x > PAGE_MIDDLE


def test_each_letter_of_a_batch_takes_the_fonts_of_its_language():
    names = (("김민준", "kor", "NotoSansCJKKR"), ("محمد علي", "ara", "NotoSansArabic"),
             ("张伟", "zho", "NotoSansCJKSC"))
    pdf = letters_pdf([letter(name, language) for name, language, _ in names], SENDER,
                      title="mailers")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 3
    for page, (name, _, font) in enumerate(names):
        assert set(name) - {" "} <= drawn_with(pdf, font, page)


def test_the_batch_mailers_print_an_arabic_name(client, clerk, supervisor):
    issued = approve(client, clerk, given_name="ليلى", family_name="حداد",
                     preferred_languages=["ara"])
    assert issued.status_code == 201, issued.text
    _, text, _ = batch_with_mailer(client, supervisor)
    assert set("ليلى حداد") <= set(text)
