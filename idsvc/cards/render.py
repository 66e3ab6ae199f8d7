"""Print-ready card faces (CR80 at 300 dpi) rendered with Pillow.

The card is printed at the size it is rendered, so every length here is a device pixel at
300 dpi (1 pt = 4.17 px).  Text of unknown length (names, contacts, translated labels) is
always placed with :func:`fit_text`, which shrinks, wraps and as a last resort shortens it so
that nothing can run off the card or into a neighbouring element.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache

import qrcode
import qrcode.util
from PIL import Image, ImageDraw, ImageOps
from qrcode.constants import ERROR_CORRECT_Q

from idsvc.cards.emblem import city_emblem, city_initial, heart_mark, star_mark
from idsvc.cards.fonts import Script, get_font, script_of, segments
from idsvc.languages import N_

DPI = 300
CARD_SIZE = (1011, 638)  # CR80, 85.60 x 53.98 mm
QUIET_ZONE = 4
MIN_MODULE_PX = 4

NAVY = (20, 54, 93)
GOLD = (201, 162, 39)
PALE_GOLD = (236, 220, 170)
INK = (22, 27, 34)
MUTED = (80, 90, 104)
RULE = (196, 204, 214)
WHITE = (255, 255, 255)
DONOR_RED = (196, 30, 48)

_NOMINAL_ASCENT = 0.95  # em: accented capitals; keeps baselines steady between values
_NOMINAL_DESCENT = 0.25
_LINE_GAP = 0.12
_ELLIPSIS = "\u2026"
_QR_CHARSET = re.compile(r"[0-9A-Z $%*+\-./:]*")


@dataclass(frozen=True)
class CardLabels:
    """Printed captions, in English here; `idsvc.cards.labels` gives them in another language."""

    title: str = N_("Municipal ID")
    name: str = N_("Name")
    date_of_birth: str = N_("Date of birth")
    gender: str = N_("Gender")
    card_number: str = N_("Card no.")
    issued: str = N_("Issued")
    expires: str = N_("Expires")
    never_expires: str = N_("No expiry")
    veteran: str = N_("Veteran")
    organ_donor: str = N_("Organ donor")
    emergency_contact: str = N_("Emergency contact")
    languages: str = N_("Languages")
    if_found: str = N_("If found, please return to:")


@dataclass(frozen=True)
class CardFace:
    """Everything printed on one card, already formatted for display."""

    city_name: str
    card_number: str
    version: int
    full_name: str
    date_of_birth: date
    gender: str | None
    issued_on: date
    expires_on: date | None
    photo_jpeg: bytes
    veteran: bool
    organ_donor: bool
    emergency_contact: str | None
    languages: tuple[str, ...]
    qr_text: str
    return_to: str
    labels: CardLabels = CardLabels()
    # The 'if found' caption again in the holder's own language, when it differs.
    if_found_local: str | None = None


@dataclass(frozen=True)
class Field:
    """A caption and its value, e.g. ("Issued", "2025-01-31")."""

    label: str
    value: str
    emphasis: bool = False


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in card pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass(frozen=True)
class TextStyle:
    """Size range, weight and line limit for one kind of text."""

    max_size: int
    min_size: int
    bold: bool = False
    max_lines: int = 1


@dataclass(frozen=True)
class LineMetrics:
    """Extent of one line around its pen start and baseline (ink and advance combined)."""

    left: float
    right: float
    ascent: float
    descent: float

    @property
    def width(self) -> float:
        return self.right - self.left


@dataclass(frozen=True)
class FittedText:
    """The result of :func:`fit_text`: a size and the lines to draw at that size."""

    lines: tuple[str, ...]
    size: int
    bold: bool

    @cached_property  # width and height both need it: measure each line once
    def metrics(self) -> tuple[LineMetrics, ...]:
        return tuple(measure_line(line, self.size, self.bold) for line in self.lines)

    @property
    def width(self) -> float:
        return max((m.width for m in self.metrics), default=0.0)

    @property
    def height(self) -> float:
        metrics = self.metrics
        gaps = _LINE_GAP * self.size * max(len(metrics) - 1, 0)
        return sum(m.ascent + m.descent for m in metrics) + gaps

    def baselines(self) -> Iterator[float]:
        """Baseline of each line, measured from the top of the text block."""
        y = 0.0
        for m in self.metrics:
            yield y + m.ascent
            y += m.ascent + m.descent + _LINE_GAP * self.size


# Front layout.
HEADER_H = 124
EMBLEM = Box(26, 12, 100, 100)
CITY_BOX = Box(146, 14, 829, 62)
TITLE_BOX = Box(146, 80, 829, 36)
PHOTO_BOX = Box(36, 146, 300, 400)
_COLUMN_X, _COLUMN_W = 368, 607
NAME_LABEL_BOX = Box(_COLUMN_X, 146, _COLUMN_W, 30)
NAME_BOX = Box(_COLUMN_X, 178, _COLUMN_W, 126)
_GRID_TOP, _ROW_PITCH, _CELL_GAP = 318, 78, 24
_CELL_W = (_COLUMN_W - _CELL_GAP) // 2
VERSION_BOX = Box(836, 586, 139, 28)
FOOTER_Y = 626

# Back layout.
QR_MAX_SIDE = 626
BACK_COLUMN = Box(632, 24, 351, 592)

LABEL = TextStyle(23, 16)
VALUE = TextStyle(34, 20)
EMPHASIS = TextStyle(36, 22, bold=True)
NAME = TextStyle(62, 30, bold=True, max_lines=2)
CITY = TextStyle(46, 22, bold=True, max_lines=2)
TITLE = TextStyle(30, 20)
BACK_CITY = TextStyle(30, 18, bold=True, max_lines=2)
BACK_VALUE = TextStyle(28, 20, max_lines=2)
ADDRESS = TextStyle(26, 18)
BADGE = TextStyle(30, 18, bold=True)
VERSION = TextStyle(20, 16)


@lru_cache(maxsize=4096)
def measure_line(text: str, size: int, bold: bool) -> LineMetrics:
    """Measure a single line as :func:`_draw_line` will draw it, segment by segment."""
    x, left, right = 0.0, 0.0, 0.0
    ascent, descent = _NOMINAL_ASCENT * size, _NOMINAL_DESCENT * size
    for seg in segments(text):
        font = get_font(seg.script, size, bold)
        ink_left, top, ink_right, bottom = font.getbbox(
            seg.text, anchor="ls", direction=seg.direction, language=seg.language
        )
        left, right = min(left, x + ink_left), max(right, x + ink_right)
        ascent, descent = max(ascent, -top), max(descent, bottom)
        x += font.getlength(seg.text, direction=seg.direction, language=seg.language)
    return LineMetrics(left, max(right, x), ascent, descent)


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def fit_text(text: str, width: int, height: int, style: TextStyle) -> FittedText:
    """Fit ``text`` into a width x height box.

    Order of preference: one line as large as possible (down to ``style.min_size``), then
    two balanced lines as large as possible, then the minimum size with the last line
    shortened with an ellipsis.  Shortening only happens for text far beyond any real
    name; the alternative would be printing over other fields.
    """
    text = _normalised(text)

    def fits(lines: tuple[str, ...], size: int) -> bool:
        fitted = FittedText(lines, size, style.bold)
        return fitted.width <= width and fitted.height <= height

    size = _largest(style.min_size, style.max_size, lambda s: fits((text,), s))
    if size:
        return FittedText((text,), size, style.bold)
    # Widths scale with the size, so the best split point does not depend on it.
    split = _balanced_split(text, style.min_size, style.bold) if style.max_lines > 1 else None
    if split:
        size = _largest(style.min_size, style.max_size, lambda s: fits(split, s))
        if size:
            return FittedText(split, size, style.bold)
    fallback = FittedText(
        _wrap(text, width, style.min_size, style.bold, style.max_lines), style.min_size, style.bold
    )
    if not fits(fallback.lines, fallback.size):
        raise ValueError(f"A line of {style.min_size}px text cannot fit a {width}x{height} box")
    return fallback


def fit_block(lines: list[str], width: int, height: int, style: TextStyle) -> FittedText:
    """Fit several hard lines (an address) at one common size, word-wrapping long ones.

    If even the minimum size is too tall, the lines that fit are kept and the last one ends
    with an ellipsis.
    """

    def wrapped(size: int) -> tuple[str, ...]:
        return tuple(part for line in lines for part in _wrap(line, width, size, style.bold))

    def fits(size: int) -> bool:
        return FittedText(wrapped(size), size, style.bold).height <= height

    size = _largest(style.min_size, style.max_size, fits)
    if size:
        return FittedText(wrapped(size), size, style.bold)
    size, everything = style.min_size, wrapped(style.min_size)
    keep = _largest(
        1, len(everything), lambda n: FittedText(everything[:n], size, style.bold).height <= height
    )
    if keep is None:
        raise ValueError(f"A line of {size}px text cannot fit a {width}x{height} box")
    last = _ellipsize(" ".join(everything[keep - 1 : keep + 1]), width, size, style.bold)
    return FittedText((*everything[: keep - 1], last), size, style.bold)


def _largest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """Largest n in [low, high] with fits(n), for predicates that only turn false as n grows."""
    best = None
    while low <= high:
        mid = (low + high) // 2
        if fits(mid):
            best, low = mid, mid + 1
        else:
            high = mid - 1
    return best


def _break_points(text: str) -> list[int]:
    """Indices where a line may end: after spaces and hyphens, and between CJK characters."""
    points = []
    for i in range(1, len(text)):
        before, after = text[i - 1], text[i]
        cjk = script_of(before) is Script.CJK and script_of(after) is Script.CJK
        if before == " " or (before == "-" and after != " ") or cjk:
            points.append(i)
    return points


def _split_at(text: str, i: int) -> tuple[str, str]:
    return text[:i].rstrip(), text[i:].lstrip()


def _balanced_split(text: str, size: int, bold: bool) -> tuple[str, str] | None:
    """The two-line split whose wider line is narrowest (names look best balanced)."""
    best, best_width = None, float("inf")
    for i in _break_points(text):
        lines = _split_at(text, i)
        if not all(lines):
            continue
        widest = max(measure_line(line, size, bold).width for line in lines)
        if widest < best_width:
            best, best_width = lines, widest
    return best


def _wrap(
    text: str, width: int, size: int, bold: bool, max_lines: int | None = None
) -> tuple[str, ...]:
    """Greedy word wrap; a word longer than a line is broken between characters.

    With ``max_lines``, whatever does not fit ends the last line with an ellipsis.
    """

    def fits(line: str) -> bool:
        return measure_line(line, size, bold).width <= width

    lines: list[str] = []
    rest = text
    while not fits(rest) and (max_lines is None or len(lines) < max_lines - 1):
        cut = _longest_prefix(rest, _break_points(rest), fits) or _longest_prefix(
            rest, _cluster_starts(rest), fits
        )
        if not cut:
            break
        line, rest = _split_at(rest, cut)
        lines.append(line)
    lines.append(_ellipsize(rest, width, size, bold))
    return tuple(lines)


def _ellipsize(text: str, width: int, size: int, bold: bool) -> str:
    """``text`` if it fits, else its longest fitting prefix followed by an ellipsis."""

    def fits(line: str) -> bool:
        return measure_line(line, size, bold).width <= width

    if fits(text):
        return text
    cut = _longest_prefix(text, _cluster_starts(text), lambda line: fits(line + _ELLIPSIS))
    return text[:cut].rstrip() + _ELLIPSIS if cut else _ELLIPSIS


def _longest_prefix(text: str, cuts: list[int], fits: Callable[[str], bool]) -> int | None:
    """The largest cut whose (right-trimmed) prefix fits; prefixes only grow with the cut."""
    k = _largest(0, len(cuts) - 1, lambda k: fits(text[: cuts[k]].rstrip()))
    return None if k is None else cuts[k]


def _cluster_starts(text: str) -> list[int]:
    return [i for i in range(1, len(text)) if _is_cluster_start(text, i)]


def _is_cluster_start(text: str, i: int) -> bool:
    """Whether cutting before text[i] keeps combining marks and conjuncts intact."""
    before, char = text[i - 1], text[i]
    joiner = before in "\u200c\u200d" or unicodedata.name(before, "").endswith("SIGN VIRAMA")
    return not joiner and not unicodedata.category(char).startswith("M")


def _draw_line(
    draw: ImageDraw.ImageDraw,
    x: float,
    baseline: float,
    text: str,
    size: int,
    bold: bool,
    fill: tuple[int, int, int],
) -> None:
    """Draw one line segment by segment, each in its own font, on a shared baseline."""
    for seg in segments(text):
        font = get_font(seg.script, size, bold)
        draw.text(
            (x, baseline),
            seg.text,
            font=font,
            fill=fill,
            anchor="ls",
            direction=seg.direction,
            language=seg.language,
        )
        x += font.getlength(seg.text, direction=seg.direction, language=seg.language)


def draw_fitted(
    draw: ImageDraw.ImageDraw, fitted: FittedText, box: Box, fill: tuple[int, int, int]
) -> None:
    """Draw fitted text left-aligned at the top of ``box``."""
    for line, metrics, baseline in zip(
        fitted.lines, fitted.metrics, fitted.baselines(), strict=True
    ):
        _draw_line(
            draw, box.x - metrics.left, box.y + baseline, line, fitted.size, fitted.bold, fill
        )


def draw_text(
    draw: ImageDraw.ImageDraw, text: str, box: Box, style: TextStyle, fill: tuple[int, int, int]
) -> FittedText:
    """Fit ``text`` into ``box`` and draw it; returns the fit so callers can flow below it."""
    fitted = fit_text(text, box.w, box.h, style)
    draw_fitted(draw, fitted, box, fill)
    return fitted


def _iso(day: date) -> str:
    """Dates print as ISO 8601: unambiguous in every language the card may be read in."""
    return day.isoformat()


def front_fields(face: CardFace) -> tuple[Field, ...]:
    """The caption/value pairs of the front grid, in reading order.

    Gender is left out entirely (no caption either) when the resident chose not to show it.
    """
    labels = face.labels
    fields = [Field(labels.date_of_birth, _iso(face.date_of_birth))]
    if face.gender is not None:
        fields.append(Field(labels.gender, face.gender))
    expires = _iso(face.expires_on) if face.expires_on else labels.never_expires
    fields += [
        Field(labels.issued, _iso(face.issued_on)),
        Field(labels.expires, expires),
        Field(labels.card_number, face.card_number, emphasis=True),
    ]
    return tuple(fields)


def back_fields(face: CardFace) -> tuple[Field, ...]:
    """The caption/value blocks of the back, in reading order; empty ones are left out."""
    labels = face.labels
    fields = [Field(labels.card_number, face.card_number, emphasis=True)]
    if face.emergency_contact:
        fields.append(Field(labels.emergency_contact, face.emergency_contact))
    if face.languages:
        fields.append(Field(labels.languages, ", ".join(face.languages)))
    return tuple(fields)


def _grid_cell(index: int) -> Box:
    row, column = divmod(index, 2)
    return Box(
        _COLUMN_X + column * (_CELL_W + _CELL_GAP),
        _GRID_TOP + row * _ROW_PITCH,
        _CELL_W,
        _ROW_PITCH - 6,
    )


def _paste_mark(card: Image.Image, mark: Image.Image, x: int, y: int) -> None:
    card.paste(mark, (x, y), mark)


def _draw_header(card: Image.Image, draw: ImageDraw.ImageDraw, face: CardFace) -> None:
    draw.rectangle((0, 0, CARD_SIZE[0], HEADER_H), fill=NAVY)
    draw.rectangle((0, HEADER_H, CARD_SIZE[0], HEADER_H + 4), fill=GOLD)
    emblem = city_emblem(city_initial(face.city_name), EMBLEM.w, NAVY, GOLD, WHITE)
    _paste_mark(card, emblem, EMBLEM.x, EMBLEM.y)
    draw_text(draw, face.city_name, CITY_BOX, CITY, WHITE)
    draw_text(draw, face.labels.title, TITLE_BOX, TITLE, PALE_GOLD)


def _photo(jpeg: bytes, box: Box) -> Image.Image:
    """Decode and scale the portrait; JPEG draft mode decodes at a reduced scale (fast)."""
    with Image.open(io.BytesIO(jpeg)) as source:
        source.draft("RGB", (box.w, box.h))
        return ImageOps.fit(source.convert("RGB"), (box.w, box.h), Image.Resampling.LANCZOS)


def _draw_photo(card: Image.Image, draw: ImageDraw.ImageDraw, jpeg: bytes) -> None:
    box = PHOTO_BOX
    card.paste(_photo(jpeg, box), (box.x, box.y))
    draw.rectangle((box.x - 3, box.y - 3, box.right + 2, box.bottom + 2), outline=RULE, width=3)


def _draw_field(draw: ImageDraw.ImageDraw, field: Field, box: Box) -> None:
    """Caption above value."""
    draw_text(draw, field.label, Box(box.x, box.y, box.w, 30), LABEL, MUTED)
    style = EMPHASIS if field.emphasis else VALUE
    value_box = Box(box.x, box.y + 30, box.w, box.h - 30)
    draw_text(draw, field.value, value_box, style, NAVY if field.emphasis else INK)


def _draw_badge(
    card: Image.Image,
    draw: ImageDraw.ImageDraw,
    mark: Image.Image,
    text: str,
    box: Box,
    color: tuple[int, int, int],
) -> None:
    """A mark followed by its caption, centred vertically in ``box``."""
    top = box.y + (box.h - mark.height) // 2
    _paste_mark(card, mark, box.x, top)
    text_x = box.x + mark.width + 12
    fitted = fit_text(text, box.right - text_x, mark.height, BADGE)
    text_top = top + (mark.height - fitted.height) / 2
    draw_fitted(draw, fitted, Box(text_x, int(text_top), box.right - text_x, mark.height), color)


def render_front(face: CardFace) -> Image.Image:
    """The photo side: header with emblem, portrait, name and the identity fields."""
    card = Image.new("RGB", CARD_SIZE, WHITE)
    draw = ImageDraw.Draw(card)
    _draw_header(card, draw, face)
    _draw_photo(card, draw, face.photo_jpeg)
    draw_text(draw, face.labels.name, NAME_LABEL_BOX, LABEL, MUTED)
    draw_text(draw, face.full_name, NAME_BOX, NAME, INK)
    fields = front_fields(face)
    for index, field in enumerate(fields):
        _draw_field(draw, field, _grid_cell(index))
    if face.veteran:
        cell = _grid_cell(len(fields))
        _draw_badge(card, draw, star_mark(48, GOLD), face.labels.veteran, cell, NAVY)
    draw.rectangle((0, FOOTER_Y, CARD_SIZE[0], CARD_SIZE[1]), fill=NAVY)
    version = fit_text(f"v{face.version}", VERSION_BOX.w, VERSION_BOX.h, VERSION)
    x = VERSION_BOX.right - version.width
    draw_fitted(draw, version, Box(int(x), VERSION_BOX.y, VERSION_BOX.w, VERSION_BOX.h), MUTED)
    return card


def qr_modules(text: str) -> list[list[bool]]:
    """QR matrix (quiet zone included) for Base45 text: alphanumeric mode, level Q."""
    if not _QR_CHARSET.fullmatch(text):
        raise ValueError("qr_text must use only the QR alphanumeric set 0-9 A-Z $%*+-./: space")
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=1, border=QUIET_ZONE)
    qr.add_data(qrcode.util.QRData(text, mode=qrcode.util.MODE_ALPHA_NUM))
    qr.make(fit=True)
    return qr.get_matrix()


def qr_image(text: str, max_side: int = QR_MAX_SIDE) -> Image.Image:
    """The QR at the largest whole number of pixels per module that fits ``max_side``.

    Whole pixels per module keep every module edge sharp for the printer and the scanner;
    the matrix is scaled with nearest-neighbour, which is much faster than drawing modules.
    """
    modules = qr_modules(text)
    count = len(modules)
    scale = max_side // count
    if scale < MIN_MODULE_PX:
        raise ValueError(
            f"QR with {count} modules needs {count * MIN_MODULE_PX}px; only {max_side}px available"
        )
    pixels = bytes(0 if dark else 255 for row in modules for dark in row)
    matrix = Image.frombytes("L", (count, count), pixels)
    return matrix.resize((count * scale, count * scale), Image.Resampling.NEAREST)


def _draw_back_column(card: Image.Image, draw: ImageDraw.ImageDraw, face: CardFace) -> None:
    """City, fields and donor mark flow down the column; the return address takes the rest."""
    column = BACK_COLUMN
    city = draw_text(draw, face.city_name, Box(column.x, column.y, column.w, 64), BACK_CITY, NAVY)
    y = column.y + math.ceil(city.height) + 10
    draw.rectangle((column.x, y, column.right, y + 3), fill=GOLD)
    y += 16
    for field in back_fields(face):
        draw_text(draw, field.label, Box(column.x, y, column.w, 30), LABEL, MUTED)
        style, value_h = (EMPHASIS, 46) if field.emphasis else (BACK_VALUE, 76)
        color = NAVY if field.emphasis else INK
        value = draw_text(draw, field.value, Box(column.x, y + 30, column.w, value_h), style, color)
        y += 30 + math.ceil(value.height) + 16
    if face.organ_donor:
        mark = heart_mark(40, DONOR_RED)
        _draw_badge(
            card, draw, mark, face.labels.organ_donor, Box(column.x, y, column.w, 48), DONOR_RED
        )
        y += 48 + 16
    _draw_return_to(draw, face, Box(column.x, y, column.w, column.bottom - y))


def _draw_return_to(draw: ImageDraw.ImageDraw, face: CardFace, space: Box) -> None:
    """The lost-card caption (also in the holder's language) and address, set at the bottom
    of ``space``."""
    lines = [line.strip() for line in face.return_to.splitlines() if line.strip()]
    captions = [face.labels.if_found] + ([face.if_found_local] if face.if_found_local else [])
    label_h = 32 * len(captions)
    address = fit_block(lines, space.w, space.h - label_h, ADDRESS)
    top = space.bottom - math.ceil(address.height) - label_h
    for row, caption in enumerate(captions):
        draw_text(draw, caption, Box(space.x, top + 32 * row, space.w, 30), LABEL, MUTED)
    draw_fitted(
        draw, address, Box(space.x, top + label_h, space.w, space.bottom - top - label_h), INK
    )


def render_back(face: CardFace) -> Image.Image:
    """The QR side: credential QR on the left, contact and return details on the right."""
    card = Image.new("RGB", CARD_SIZE, WHITE)
    draw = ImageDraw.Draw(card)
    qr = qr_image(face.qr_text)
    left = (BACK_COLUMN.x - qr.width) // 2
    card.paste(qr, (left, (CARD_SIZE[1] - qr.height) // 2))
    _draw_back_column(card, draw, face)
    return card


def png_bytes(image: Image.Image) -> bytes:
    """PNG with 300 dpi metadata, so print dialogs size the card correctly by default."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(DPI, DPI))
    return buffer.getvalue()


def card_pdf(face: CardFace) -> bytes:
    """Two CR80-sized pages (front, back) for card printers that take PDF.

    Pillow's PDF writer stores RGB pages as JPEG; quality 95 without chroma subsampling
    keeps text edges and QR modules crisp.
    """
    buffer = io.BytesIO()
    front, back = render_front(face), render_back(face)
    front.save(
        buffer,
        format="PDF",
        save_all=True,
        append_images=[back],
        resolution=DPI,
        quality=95,
        subsampling=0,
    )
    return buffer.getvalue()


def unprintable_field(full_name: str, emergency_contact: str | None) -> str | None:
    """Which of the resident's texts no font can draw or no box can hold, if any.

    Asked before a card is approved, so a card that cannot be printed is never issued.
    """
    checks = [("name", full_name, NAME_BOX, NAME)]
    if emergency_contact:
        checks.append(("emergency_contact", emergency_contact,
                       Box(BACK_COLUMN.x, 0, BACK_COLUMN.w, 76), BACK_VALUE))
    for field, text, box, style in checks:
        try:
            smallest = FittedText((_normalised(text),), style.min_size, style.bold)
            if smallest.width > box.w or smallest.height > box.h:  # else fit_text surely can
                fit_text(text, box.w, box.h, style)
        except ValueError:  # includes UnsupportedTextError
            return field
    return None
