"""The print sheet: one PDF for a card printer, every page one CR80 card side.

Direct-to-card printers (Evolis, Zebra, Fargo, Magicard...) take a PDF whose page size
is the card and print it in duplex order: page 1 on the front of the first card, page 2
on its back, page 3 on the front of the next. So each card is two pages (front, back),
and each service centre's cards follow a separator that prints on a blank card of its
own (centre, batch, count and the card numbers, in order), padded to an even number of
pages so the front/back pairing never shifts. The same file prints on office paper at
actual size for checking. The card faces are the renderer's 300 dpi images, stored as
JPEG at the quality `render.card_pdf` uses.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF
from PIL import Image

from idsvc.cards.render import DPI

CARD_MM = (85.6, 53.98)  # CR80 (ISO/IEC 7810 ID-1)
_MARGIN = 3.5
_NUMBER_COLUMNS = 3
_NUMBER_LINE_MM = 2.9
_FONT = "Helvetica"


@dataclass(frozen=True)
class SheetCard:
    """One card to print: its displayed number and a way to draw both sides on demand,
    so a batch never holds every card's images at once."""

    number: str
    render: Callable[[], tuple[Image.Image, Image.Image]]


@dataclass(frozen=True)
class SheetGroup:
    """A service centre's cards, printed after their separator."""

    code: str
    name: str
    cards: list[SheetCard]
    left_out: int = 0  # batch cards revoked or suspended since the batch was made


@dataclass(frozen=True)
class SheetHeading:
    batch_id: int
    created_at: datetime
    city_name: str


def _latin(text: str) -> str:
    """The built-in PDF fonts cover Latin-1 only; other characters become '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _jpeg(image: Image.Image) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95, subsampling=0, dpi=(DPI, DPI))
    out.seek(0)
    return out


class _Sheet(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format=CARD_MM)
        self.set_auto_page_break(False)
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_creator("idsvc")

    def card_side(self, image: Image.Image, *, bookmark: str | None = None) -> None:
        self.add_page()
        if bookmark is not None:
            self.start_section(bookmark, level=1)
        self.image(_jpeg(image), x=0, y=0, w=CARD_MM[0], h=CARD_MM[1])

    def separator(self, group: SheetGroup, heading: SheetHeading, index: int,
                  of: int) -> None:
        numbers = [card.number for card in group.cards]
        first = True
        pages = 0
        for chunk in _chunks(numbers, self._numbers_per_page(first=True),
                             self._numbers_per_page(first=False)):
            self.add_page()
            if first:
                self.start_section(_latin(f"{group.code}: {len(group.cards)} cards"))
            pages += 1
            top = self._separator_title(group, heading, index, of) if first else _MARGIN
            self._number_table(chunk, top)
            first = False
        if pages % 2:
            self.add_page()  # the separator card's back: keeps fronts on odd pages
            self.set_font(_FONT, size=6)
            self.text(_MARGIN, CARD_MM[1] - _MARGIN,
                      _latin(f"Separator, batch {heading.batch_id}: {group.code}"))

    def _separator_title(self, group: SheetGroup, heading: SheetHeading, index: int,
                         of: int) -> float:
        self.set_xy(_MARGIN, _MARGIN)
        self.set_font(_FONT, style="B", size=9)
        self.cell(0, 4, _latin(f"SEPARATOR - not a card - {heading.city_name}"),
                  new_x="LMARGIN", new_y="NEXT")
        self.set_font(_FONT, size=7)
        self.cell(0, 3.4, _latin(f"Print batch {heading.batch_id}, "
                                 f"{heading.created_at:%Y-%m-%d %H:%M} UTC, "
                                 f"centre {index} of {of}"),
                  new_x="LMARGIN", new_y="NEXT")
        self.set_font(_FONT, style="B", size=8)
        self.cell(0, 3.8, _latin(f"Centre {group.code}: {group.name}"),
                  new_x="LMARGIN", new_y="NEXT")
        self.set_font(_FONT, size=7)
        note = (f"; {group.left_out} left out (revoked or suspended since)"
                if group.left_out else "")
        self.cell(0, 3.4, _latin(f"{len(group.cards)} cards follow, in this order{note}:"),
                  new_x="LMARGIN", new_y="NEXT")
        return self.get_y() + 0.8

    def _numbers_per_page(self, *, first: bool) -> int:
        top = _MARGIN + 15.4 if first else _MARGIN
        rows = int((CARD_MM[1] - _MARGIN - top) // _NUMBER_LINE_MM)
        return rows * _NUMBER_COLUMNS

    def _number_table(self, numbers: list[str], top: float) -> None:
        self.set_font(_FONT, size=6.5)
        rows = int((CARD_MM[1] - _MARGIN - top) // _NUMBER_LINE_MM)
        width = (CARD_MM[0] - 2 * _MARGIN) / _NUMBER_COLUMNS
        for i, number in enumerate(numbers):
            column, row = divmod(i, rows)
            self.text(_MARGIN + column * width, top + (row + 1) * _NUMBER_LINE_MM - 0.6, number)


def _chunks(items: list[str], first: int, rest: int) -> Iterator[list[str]]:
    """`items` cut to fit a first page of `first` and further pages of `rest` (at least one
    chunk, so an empty list still gets its page)."""
    yield items[:first]
    for start in range(first, len(items), rest):
        yield items[start:start + rest]


def sheet_pdf(groups: list[SheetGroup], heading: SheetHeading) -> bytes:
    """The batch as one duplex PDF: per centre a separator, then front and back of each card."""
    pdf = _Sheet()
    pdf.set_title(_latin(f"{heading.city_name}: print batch {heading.batch_id}"))
    pdf.set_creation_date(heading.created_at)
    for index, group in enumerate(groups, start=1):
        pdf.separator(group, heading, index, len(groups))
        for card in group.cards:
            front, back = card.render()
            pdf.card_side(front, bookmark=card.number)
            pdf.card_side(back)
    return bytes(pdf.output())
