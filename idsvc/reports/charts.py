"""Bar charts drawn on the server as SVG: no script, readable by a screen reader.

The chart is an image (`role="img"`) named by its `<title>` and summed up by its
`<desc>`; the page puts the same numbers in a table under it. Bars are drawn only from
the numbers the page shows: a hidden count ("<10", withheld) gets no bar, only its
label, so the picture cannot give back what the table hides. In a right-to-left
language time runs from right to left and the scale sits on the right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from idsvc.reports.service import Shown

HEIGHT = 260
TOP = 24
BOTTOM = 70  # room for the period labels, drawn slanted
SIDE = 56    # room for the scale
SLOT = 34
BAR = 22


def _nice_max(values: Sequence[int]) -> int:
    peak = max(values, default=0)
    if peak <= 10:
        return 10
    step = 10 ** (len(str(peak)) - 1)
    return -(-peak // step) * step


def bar_chart(*, chart_id: str, title: str, description: str, labels: Sequence[str],
              values: Sequence[Shown], show: Callable[[Shown], str], rtl: bool) -> Markup:
    """One bar per label; `show` formats a value for the labels above the bars."""
    numbers = [v for v in values if isinstance(v, int)]
    top = _nice_max(numbers)
    width = SIDE * 2 + SLOT * max(len(labels), 1)
    base = HEIGHT - BOTTOM
    span = base - TOP

    def x_of(index: int) -> float:
        left = SIDE + SLOT * index + (SLOT - BAR) / 2
        return width - left - BAR if rtl else left

    scale_x = width - SIDE + 6 if rtl else SIDE - 6
    anchor = "start" if rtl else "end"
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}" '
        # Labels are numbers and ISO periods: always laid out left to right, while the
        # bars themselves are mirrored for right-to-left pages.
        f'direction="ltr" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in (0, top // 2, top):
        y = base - span * tick / top
        parts.append(f'<line class="grid" x1="{SIDE}" x2="{width - SIDE}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/>')
        parts.append(f'<text class="scale" x="{scale_x}" y="{y + 4:.1f}" '
                     f'text-anchor="{anchor}">{escape(show(tick))}</text>')
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = x_of(index)
        centre = x + BAR / 2
        height = span * value / top if isinstance(value, int) else 0
        if height:
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{base - height:.1f}" '
                         f'width="{BAR}" height="{height:.1f}"/>')
        mark = "hidden" if isinstance(value, str) else "value"
        parts.append(f'<text class="{mark}" x="{centre:.1f}" y="{base - height - 5:.1f}" '
                     f'text-anchor="middle">{escape(show(value))}</text>')
        parts.append(f'<text class="period" x="{centre:.1f}" y="{base + 14}" '
                     f'text-anchor="end" transform="rotate(-45 {centre:.1f} {base + 14})">'
                     f'{escape(label)}</text>')
    parts.append(f'<line class="axis" x1="{SIDE}" x2="{width - SIDE}" y1="{base}" '
                 f'y2="{base}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
