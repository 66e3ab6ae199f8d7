"""City emblem and small marks (star, heart), drawn in code.

Drawing them keeps the repository free of artwork files and lets every city get an emblem
with its own initial.  Pillow's polygon fill is not anti-aliased, so each mark is drawn at
``_SUPERSAMPLE`` times its size and reduced with a Lanczos filter, which gives smooth edges
at 300 dpi.  Results are cached: a card run renders the same marks thousands of times.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw

from idsvc.cards.fonts import Script, get_font, script_of

Color = tuple[int, int, int]
Point = tuple[float, float]

_SUPERSAMPLE = 4
_CITY_PREFIX = re.compile(r"^\s*(city|town|village|county|borough|municipality)\s+of\s+", re.I)

# A heater shield in unit coordinates (x right, y down): flat top, straight sides, and two
# quadratic curves meeting in a point at the bottom.
_SHIELD_TOP, _SHIELD_SIDE_END, _SHIELD_TIP = 0.04, 0.52, 0.97
_SHIELD_LEFT, _SHIELD_RIGHT = 0.09, 0.91
_RIM = 0.065  # gold rim width, as a fraction of the emblem size
# Skyline: (left, right, top) of each building in unit coordinates, ground at _GROUND.
_SKYLINE = (
    (0.15, 0.26, 0.70),
    (0.26, 0.35, 0.62),
    (0.35, 0.43, 0.67),
    (0.43, 0.57, 0.57),
    (0.57, 0.65, 0.65),
    (0.65, 0.75, 0.60),
    (0.75, 0.85, 0.69),
)
_GROUND = 0.78


def city_initial(city_name: str) -> str:
    """The letter for the emblem: "City of Riverton" -> "R", "New York" -> "N"."""
    name = _CITY_PREFIX.sub("", city_name)
    return next((char.upper() for char in name if char.isalnum()), "")


def _quad(p0: Point, p1: Point, p2: Point, steps: int = 24) -> list[Point]:
    """Points along a quadratic Bezier curve, without its start point."""
    points = []
    for i in range(1, steps + 1):
        t = i / steps
        u = 1 - t
        points.append(
            (
                u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0],
                u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1],
            )
        )
    return points


def _shield(inset: float) -> list[Point]:
    """Shield outline in unit coordinates, shrunk by ``inset`` on every side."""
    left, right = _SHIELD_LEFT + inset, _SHIELD_RIGHT - inset
    top, side_end, tip = _SHIELD_TOP + inset, _SHIELD_SIDE_END, _SHIELD_TIP - inset * 1.6
    bottom = (0.5, tip)
    right_side = _quad((right, side_end), (right, tip - 0.12), bottom)
    left_side = _quad(bottom, (left, tip - 0.12), (left, side_end))
    return [(left, top), (right, top), (right, side_end), *right_side, *left_side]


def _mask(size: int, polygons: list[list[Point]]) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    for polygon in polygons:
        draw.polygon([(x * size, y * size) for x, y in polygon], fill=255)
    return mask


@lru_cache(maxsize=16)
def city_emblem(initial: str, size: int, field: Color, rim: Color, ink: Color) -> Image.Image:
    """An RGBA shield: ``rim`` border, ``field`` inside, skyline in ``rim``, letter in ``ink``."""
    big = size * _SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (*rim, 0))
    inner = _mask(big, [_shield(_RIM)])
    image.paste(rim, mask=_mask(big, [_shield(0.0)]))
    image.paste(field, mask=inner)
    buildings = [[(a, top), (b, top), (b, _GROUND), (a, _GROUND)] for a, b, top in _SKYLINE]
    skyline = _mask(big, buildings)
    image.paste(rim, mask=ImageChops.multiply(skyline, inner))
    if initial:
        font = get_font(script_of(initial) or Script.LATIN, int(big * 0.36), bold=True)
        ImageDraw.Draw(image).text(
            (big * 0.5, big * 0.49), initial, font=font, fill=ink, anchor="ms"
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _star_points(points: int = 5, inner_ratio: float = 0.42) -> list[Point]:
    """A regular star in unit coordinates, one tip pointing up."""
    outline = []
    for i in range(points * 2):
        radius = 0.5 if i % 2 == 0 else 0.5 * inner_ratio
        angle = math.pi * i / points - math.pi / 2
        outline.append((0.5 + radius * math.cos(angle), 0.53 + radius * math.sin(angle)))
    return outline


@lru_cache(maxsize=16)
def star_mark(size: int, color: Color) -> Image.Image:
    """A filled five-pointed star (the veteran mark) as an RGBA image."""
    big = size * _SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (*color, 0))
    image.paste(color, mask=_mask(big, [_star_points()]))
    return image.resize((size, size), Image.Resampling.LANCZOS)


@lru_cache(maxsize=16)
def heart_mark(size: int, color: Color) -> Image.Image:
    """A filled heart (the organ donor mark) as an RGBA image."""
    big = size * _SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    radius = big * 0.25
    for cx in (0.27, 0.73):
        draw.ellipse(
            (cx * big - radius, 0.08 * big, cx * big + radius, 0.08 * big + 2 * radius), fill=255
        )
    draw.polygon(
        [(0.035 * big, 0.40 * big), (0.965 * big, 0.40 * big), (0.5 * big, 0.93 * big)], fill=255
    )
    image = Image.new("RGBA", (big, big), (*color, 0))
    image.paste(color, mask=mask)
    return image.resize((size, size), Image.Resampling.LANCZOS)
