"""Card rendering: print geometry, a QR that scans back exactly, text that fits, real glyphs."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import base45
import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageFont
from pypdf import PdfReader

from idsvc.cards.emblem import city_initial
from idsvc.cards.fonts import (
    FONT_DIRS_ENV,
    FontNotFoundError,
    Script,
    UnsupportedTextError,
    find_font_file,
    font_dirs,
    get_font,
    segments,
)
from idsvc.cards.render import (
    CARD_SIZE,
    MIN_MODULE_PX,
    NAME,
    NAME_BOX,
    QUIET_ZONE,
    Box,
    CardFace,
    CardLabels,
    back_fields,
    card_pdf,
    draw_text,
    fit_text,
    front_fields,
    measure_line,
    png_bytes,
    qr_image,
    qr_modules,
    render_back,
    render_front,
)

CR80_POINTS = (85.60 / 25.4 * 72, 53.98 / 25.4 * 72)
NAME_45 = "Maximiliana Guadalupe Fernández de la Cruz Ro"
NAME_70 = "María-José Guadalupe Fernández de la Cruz Villalobos-Echeverría Santos"
SCRIPT_NAMES = {
    "chinese": "张伟",
    "arabic": "محمد بن عبد الرحمن",
    "cyrillic": "Александра Иванова",
    "bengali": "রবীন্দ্রনাথ ঠাকুর",
    "accented latin": "Zoë Ångström-Łukasiewicz Nguyễn",
    "mixed": "Wei 张伟",
}


@lru_cache(maxsize=1)
def sample_photo() -> bytes:
    """A 600x800 portrait-ish JPEG made in memory."""
    image = Image.new("RGB", (600, 800), (170, 190, 210))
    draw = ImageDraw.Draw(image)
    draw.ellipse((180, 150, 420, 430), fill=(224, 186, 150))
    draw.rectangle((120, 500, 480, 800), fill=(60, 80, 120))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def sample_qr_text() -> str:
    """Base45 text as long as a real signed credential (~900 characters)."""
    return base45.b45encode(random.Random(169).randbytes(600)).decode()


def make_face(**changes: Any) -> CardFace:
    face = CardFace(
        city_name="City of Riverton",
        card_number="4829 1057 3361",
        version=2,
        full_name="Ana María Ruiz",
        date_of_birth=date(1987, 3, 14),
        gender="F",
        issued_on=date(2025, 1, 31),
        expires_on=date(2030, 1, 31),
        photo_jpeg=sample_photo(),
        veteran=True,
        organ_donor=True,
        emergency_contact="Luis Ruiz (brother) +1 555 0100",
        languages=("Español", "ASL"),
        qr_text=sample_qr_text(),
        return_to="Riverton City Hall\nResident ID Office\n100 Main Street\nRiverton, ST 12345",
    )
    return replace(face, **changes)


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box of everything that is not white."""
    return ImageChops.invert(image.convert("L")).getbbox()


def is_tofu(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether ``font`` draws ``char`` as its .notdef box (it has no glyph for it)."""
    glyph, notdef = font.getmask(char), font.getmask("\uffff")
    return glyph.size == notdef.size and bytes(glyph) == bytes(notdef)


def decode_qr(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def test_both_faces_are_cr80_at_300_dpi_rgb() -> None:
    face = make_face()
    for image in (render_front(face), render_back(face)):
        assert image.size == CARD_SIZE == (1011, 638)
        assert image.mode == "RGB"


def test_png_carries_300_dpi() -> None:
    with Image.open(io.BytesIO(png_bytes(render_front(make_face())))) as image:
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)


@pytest.mark.parametrize("jpeg_quality", [None, 90], ids=["png", "jpeg-q90"])
def test_back_qr_scans_back_to_the_exact_credential(jpeg_quality: int | None) -> None:
    face = make_face()
    data = png_bytes(render_back(face))
    if jpeg_quality:
        buffer = io.BytesIO()
        Image.open(io.BytesIO(data)).save(buffer, format="JPEG", quality=jpeg_quality)
        data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as image:
        assert decode_qr(image) == [face.qr_text]


def test_qr_uses_whole_pixel_modules_and_a_four_module_quiet_zone() -> None:
    text = sample_qr_text()
    count = len(qr_modules(text))
    image = qr_image(text)
    scale = image.width // count
    assert image.size == (count * scale, count * scale)
    assert scale >= MIN_MODULE_PX
    quiet = QUIET_ZONE * scale
    inner = image.crop((quiet, quiet, image.width - quiet, image.height - quiet))
    assert ink_box(image) == (quiet, quiet, image.width - quiet, image.height - quiet)
    assert inner.getextrema() == (0, 255)


def test_qr_rejects_text_outside_the_alphanumeric_set() -> None:
    with pytest.raises(ValueError, match="alphanumeric"):
        qr_modules("lower case is not base45")


def test_pdf_has_front_and_back_pages_of_cr80_size() -> None:
    reader = PdfReader(io.BytesIO(card_pdf(make_face())))
    assert len(reader.pages) == 2
    for page in reader.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(CR80_POINTS, abs=0.2)


def test_short_name_stays_on_one_line_at_full_size() -> None:
    fitted = fit_text("Ana Ruiz", NAME_BOX.w, NAME_BOX.h, NAME)
    assert fitted.lines == ("Ana Ruiz",)
    assert fitted.size == NAME.max_size


@pytest.mark.parametrize("name", [NAME_45, NAME_70], ids=["45 chars", "70 chars"])
def test_long_name_fits_its_box_at_a_readable_size(name: str) -> None:
    assert len(name) in (45, 70)
    fitted = fit_text(name, NAME_BOX.w, NAME_BOX.h, NAME)
    assert " ".join(fitted.lines) == name  # wrapped, nothing dropped
    assert len(fitted.lines) <= 2
    assert fitted.size >= NAME.min_size
    assert all(measure_line(line, fitted.size, True).width <= NAME_BOX.w for line in fitted.lines)
    assert fitted.height <= NAME_BOX.h


def test_wrapping_keeps_a_long_name_larger_than_shrinking_alone_would() -> None:
    fitted = fit_text(NAME_45, NAME_BOX.w, NAME_BOX.h, NAME)
    assert len(fitted.lines) == 2
    assert fitted.size >= 44


@pytest.mark.parametrize(
    "name",
    [NAME_70, "محمد بن عبد الرحمن بن عبد العزيز بن فيصل العتيبي الشمري", "欧阳" * 20],
    ids=["latin", "arabic", "cjk"],
)
def test_drawn_name_ink_stays_inside_the_name_box(name: str) -> None:
    margin = 40
    canvas = Image.new("RGB", (NAME_BOX.w + 2 * margin, NAME_BOX.h + 2 * margin), "white")
    draw_text(
        ImageDraw.Draw(canvas), name, Box(margin, margin, NAME_BOX.w, NAME_BOX.h), NAME, (0, 0, 0)
    )
    left, top, right, bottom = ink_box(canvas)
    assert margin <= left and right <= margin + NAME_BOX.w
    assert margin <= top and bottom <= margin + NAME_BOX.h


@pytest.mark.parametrize(
    "name",
    [" ".join(["Bartholomew"] * 20), "Wolfeschlegelsteinhausenbergerdorff" * 4 + " Hubert"],
    ids=["many words", "one huge word"],
)
def test_absurdly_long_name_is_shortened_rather_than_overflowing(name: str) -> None:
    fitted = fit_text(name, NAME_BOX.w, NAME_BOX.h, NAME)
    assert len(fitted.lines) == 2
    assert fitted.lines[-1].endswith("\u2026")
    assert fitted.width <= NAME_BOX.w and fitted.height <= NAME_BOX.h


def test_tofu_check_detects_a_missing_glyph() -> None:
    """The oracle used below must be able to fail: Noto Sans has no Chinese glyphs."""
    assert is_tofu(get_font(Script.LATIN, 40), "张")
    assert not is_tofu(get_font(Script.CJK, 40), "张")


@pytest.mark.parametrize("name", SCRIPT_NAMES.values(), ids=SCRIPT_NAMES.keys())
def test_every_character_gets_a_font_that_has_its_glyph(name: str) -> None:
    segs = segments(name)
    assert sorted("".join(s.text for s in segs)) == sorted(name)  # nothing lost or doubled
    for seg in segs:
        font = get_font(seg.script, 40)
        assert not [c for c in seg.text if not c.isspace() and is_tofu(font, c)]
    canvas = Image.new("RGB", (NAME_BOX.w, NAME_BOX.h), "white")
    draw_text(ImageDraw.Draw(canvas), name, Box(0, 0, NAME_BOX.w, NAME_BOX.h), NAME, (0, 0, 0))
    assert ink_box(canvas) is not None


@pytest.mark.parametrize(
    ("name", "scripts"),
    [
        ("张伟", [Script.CJK]),
        ("محمد", [Script.ARABIC]),
        ("রবীন্দ্রনাথ", [Script.BENGALI]),
        ("Александра", [Script.LATIN]),
        ("Wei 张伟", [Script.LATIN, Script.CJK]),
    ],
)
def test_each_script_gets_its_font(name: str, scripts: list[Script]) -> None:
    assert [seg.script for seg in segments(name)] == scripts


def test_cjk_font_is_the_simplified_chinese_face() -> None:
    assert get_font(Script.CJK, 20).getname()[0] == "Noto Sans CJK SC"


def pieces(image: Image.Image) -> int:
    """Number of separate ink shapes in a black-on-white image."""
    mask = image.convert("L").point(lambda v: 0 if v < 128 else 255)
    count = 0
    for y in range(mask.height):
        for x in range(mask.width):
            if mask.getpixel((x, y)) == 0:
                ImageDraw.floodfill(mask, (x, y), 255, thresh=0)
                count += 1
    return count


def test_arabic_letters_are_joined_into_one_shape() -> None:
    word = "محمد"  # no dots: joined correctly it is a single stroke
    box = Box(20, 20, 400, 120)
    joined = Image.new("L", (440, 160), 255)
    draw_text(ImageDraw.Draw(joined), word, box, NAME, 0)
    isolated = Image.new("L", (440, 160), 255)
    draw = ImageDraw.Draw(isolated)
    for i, letter in enumerate(word):
        draw.text(
            (330 - 90 * i, 100), letter, font=get_font(Script.ARABIC, 60), fill=0, anchor="ls"
        )
    assert pieces(joined) == 1
    assert pieces(isolated) == len(word)
    (seg,) = segments(word)
    assert seg.rtl and seg.language == "ar"


def test_devanagari_conjunct_is_shaped_into_one_narrow_glyph() -> None:
    """क + virama + ष must become the ligature क्ष, narrower than क and ष side by side."""
    conjunct = "क्ष"
    (seg,) = segments(conjunct)
    assert (seg.script, seg.language) == (Script.DEVANAGARI, "hi")
    font = get_font(Script.DEVANAGARI, 60)
    letters_alone = font.getlength("क") + font.getlength("ष")
    assert measure_line(conjunct, 60, False).width < 0.75 * letters_alone


def test_mixed_direction_text_is_ordered_visually() -> None:
    assert [(s.text, s.rtl) for s in segments("Omar عمر")] == [("Omar ", False), ("عمر", True)]
    # Right-to-left paragraph: the phone number, written last, sits at the left end.
    visual = [(s.text, s.rtl) for s in segments("فاطمة +1 555 0100")]
    assert visual == [("+1 555 0100", False), ("فاطمة ", True)]


@pytest.mark.parametrize(
    ("text", "code_point"),
    [
        ("😀", "1F600"),
        ("Ana 😀", "1F600"),
        ("יעקב 😀", "1F600"),
        ("अनिल 😀", "1F600"),
        ("\U00010000", "10000"),  # Linear B syllable A
    ],
    ids=["emoji", "emoji after latin", "emoji after hebrew", "emoji after hindi", "linear b"],
)
def test_text_no_font_can_draw_is_refused_not_printed_as_boxes(
    text: str, code_point: str
) -> None:
    with pytest.raises(UnsupportedTextError, match=f"U\\+{code_point}"):
        segments(text)


def test_missing_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="fonts-noto-core"):
        find_font_file("NotoSansArabic-Regular.ttf", (tmp_path,), "fonts-noto-core")
    with pytest.raises(FontNotFoundError):
        find_font_file("NotoSansArabic-Regular.ttf", (tmp_path,), "fonts-noto-core")


def test_font_dir_from_environment_is_searched_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(FONT_DIRS_ENV, str(tmp_path))
    assert font_dirs()[0] == tmp_path


def test_hidden_gender_prints_no_gender_caption_or_value() -> None:
    face = make_face(gender=None)
    fields = front_fields(face)
    assert face.labels.gender not in [f.label for f in fields]
    assert "F" not in [f.value for f in fields]
    assert CardLabels().gender in [f.label for f in front_fields(make_face(gender="X"))]


def test_card_without_expiry_says_so() -> None:
    labels = CardLabels(never_expires="Sin vencimiento")
    fields = {f.label: f.value for f in front_fields(make_face(expires_on=None, labels=labels))}
    assert fields[labels.expires] == "Sin vencimiento"
    fields = {f.label: f.value for f in front_fields(make_face())}
    assert fields[CardLabels().expires] == "2030-01-31"


def test_back_leaves_out_empty_contact_and_languages() -> None:
    labels = CardLabels()
    captions = [f.label for f in back_fields(make_face(emergency_contact=None, languages=()))]
    assert captions == [labels.card_number]
    captions = [f.label for f in back_fields(make_face())]
    assert captions == [labels.card_number, labels.emergency_contact, labels.languages]


def test_veteran_and_donor_marks_only_when_chosen() -> None:
    with_marks = make_face(veteran=True, organ_donor=True)
    without = make_face(veteran=False, organ_donor=False)
    assert ImageChops.difference(render_front(with_marks), render_front(without)).getbbox()
    assert ImageChops.difference(render_back(with_marks), render_back(without)).getbbox()


def test_emblem_initial_skips_the_city_prefix() -> None:
    assert city_initial("City of Riverton") == "R"
    assert city_initial("Springfield") == "S"
