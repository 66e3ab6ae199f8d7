"""Photo intake for enrollment: turn an untrusted upload into a clean card portrait.

Uploads come from phones, scanners and webcams, so they arrive rotated, tagged with
GPS positions, colour-managed, sometimes transparent and sometimes hostile. Everything
the card printer and the QR credential need is derived here, once, from the decoded
pixels; nothing of the original file (metadata, profile, container) survives.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from PIL import Image, ImageCms, ImageOps, features

from idsvc.errors import Invalid, PayloadTooLarge

PORTRAIT_SIZE = (600, 800)  # width, height: the card's 3:4 photo box at print resolution

# Only these parsers ever see the upload: the format is decided by Pillow sniffing the
# content, and every other plugin (TIFF, PSD, EPS, ...) stays out of reach of attackers.
_ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Phones write "Ultra HDR" and depth photos as JPEGs with extra MPF images (gain map,
# preview); Pillow reports them as MPO. Frame 0 is the photo itself, not an animation.
_MULTI_PICTURE_JPEG = "MPO"
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
_FACE_CENTRE = 0.45  # faces sit in the upper part of a portrait: keep that part when cropping
_WHITE = (255, 255, 255, 255)
_PORTRAIT_QUALITY = 90
# (size, quality) from best to worst. Quality goes first, down to 20 where a face still
# reads; below that a smaller face looks better, until only the smallest size is left.
_THUMB_STEPS = (
    *(
        (size, quality)
        for size in ((48, 64), (42, 56), (36, 48), (30, 40), (24, 32))
        for quality in (50, 40, 30, 20)
    ),
    ((24, 32), 10),
    ((24, 32), 5),
)
# The face inside a normalised portrait (fractions of width and height, 3:4 like the box).
_FACE_BOX = (0.15, 0.08, 0.85, 0.8133)
_SRGB = ImageCms.createProfile("sRGB") if features.check("littlecms2") else None


@dataclass(frozen=True)
class PhotoLimits:
    """What an upload may be: defaults take any phone photo, refuse bombs and tiny images."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000  # decompression-bomb guard, checked BEFORE decoding pixels
    min_width: int = 300
    min_height: int = 400


def normalise_portrait(data: bytes, limits: PhotoLimits = PhotoLimits()) -> bytes:
    """Validate an uploaded photo and return a clean portrait JPEG of PORTRAIT_SIZE.

    The result is upright, sRGB, opaque, cropped to the card's 3:4 box around where the
    face usually is, and carries no metadata, so it is safe to print and to store.
    """
    _check_byte_size(data, limits)
    _check_webp_canvas(data, limits)
    with _refusing_bad_images(), Image.open(io.BytesIO(data), formats=_ACCEPTED_FORMATS) as img:
        _check_header(img, limits)
        icc_profile = img.info.get("icc_profile")
        upright = _decode_upright(img, limits)
    _check_min_size(upright, limits)
    rgb = _flatten(_to_srgb(upright, icc_profile))
    portrait = rgb.resize(
        PORTRAIT_SIZE, Image.Resampling.LANCZOS, box=_crop_box(rgb.size), reducing_gap=3.0
    )
    return _encode(portrait, "JPEG", quality=_PORTRAIT_QUALITY, optimize=True)


def card_portrait_and_face(data: bytes,
                           limits: PhotoLimits = PhotoLimits()) -> tuple[bytes, Face]:
    """`normalise_portrait(data)`, and the face its QR thumbnail is made from; except
    that a file which already is such a portrait is kept as it is rather than decoded,
    resized and encoded again.

    Bulk imports use it: their photos are often portraits this function (or another
    card system) already made, and re-encoding one costs most of a row's time and some
    of its quality. A kept portrait is decoded once for both results: checking that its
    pixels decode and cutting out the face are the same decoding.
    """
    _check_byte_size(data, limits)
    face = _kept_portrait_face(data, limits)
    if face is not None:
        return data, face
    portrait = normalise_portrait(data, limits)
    return portrait, portrait_face(portrait)


# JPEG markers a clean portrait has before its first scan: tables and the frame header.
# Anything else (EXIF, XMP, ICC profile, Adobe transform, comments) means "normalise it".
_CLEAN_MARKERS = frozenset({0xDB, 0xC4, 0xDD, 0xC0, 0xC2})
_JFIF_APP0 = 0xE0
_JFIF_LENGTH = 16  # a JFIF header without an embedded thumbnail
_SOF = frozenset({0xC0, 0xC2})
_SOS, _EOI = 0xDA, b"\xff\xd9"


def _kept_portrait_face(data: bytes, limits: PhotoLimits) -> Face | None:
    """The face of `data` if it is what `normalise_portrait` makes: a baseline or
    progressive JFIF JPEG of exactly PORTRAIT_SIZE in 8-bit YCbCr, no segment but tables
    before its scans, nothing after its end marker, and pixels that decode (at the
    reduced scale of the face); None if it must be normalised."""
    width, height = PORTRAIT_SIZE
    if width < limits.min_width or height < limits.min_height or not data.endswith(_EOI):
        return None
    if data[:2] != b"\xff\xd8":
        return None
    position, frame = 2, None
    while True:
        if position + 4 > len(data) or data[position] != 0xFF:
            return None
        marker = data[position + 1]
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == _SOS:
            break
        segment = data[position + 4 : position + 2 + length]
        if marker == _JFIF_APP0:
            if position != 2 or length != _JFIF_LENGTH or not segment.startswith(b"JFIF\0"):
                return None
        elif marker not in _CLEAN_MARKERS:
            return None
        if marker in _SOF:
            frame = segment
        position += 2 + length
    # The end marker cannot occur inside entropy-coded data (0xFF is stuffed there), so a
    # single one after the first scan means no second image or payload hides behind it.
    if position == 2 or frame is None or data.find(_EOI, position) != len(data) - 2:
        return None
    if frame[:6] != bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big") + b"\3":
        return None
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as img:
            if img.size != PORTRAIT_SIZE or img.mode != "RGB" or img.info.get("icc_profile"):
                return None
            return _face_of(img)
    except (Image.DecompressionBombError, *_DECODE_ERRORS):
        return None


@dataclass(frozen=True)
class Face:
    """The face of a card portrait, grey and at a quarter of its size: what every QR
    thumbnail of a card is made from. Issuance may try several budgets for one card, so
    the face is decoded once and each ladder step encoded at most once."""

    pixels: Image.Image
    _encoded: dict[int, bytes] = field(default_factory=dict, compare=False, repr=False)
    _resized: dict[tuple[int, int], Image.Image] = field(default_factory=dict, compare=False,
                                                          repr=False)

    def step(self, index: int) -> bytes:
        """The WebP thumbnail of one step of the ladder."""
        if index not in self._encoded:
            size, quality = _THUMB_STEPS[index]
            if size not in self._resized:
                self._resized[size] = self.pixels.resize(size, Image.Resampling.LANCZOS)
            self._encoded[index] = _encode(self._resized[size], "WEBP", quality=quality,
                                           method=6)
        return self._encoded[index]


def portrait_face(portrait_jpeg: bytes) -> Face:
    """The face of a stored portrait (one `normalise_portrait` made, or kept)."""
    with _refusing_bad_images(), Image.open(io.BytesIO(portrait_jpeg), formats=("JPEG",)) as img:
        return _face_of(img)


def _face_of(img: Image.Image) -> Face:
    img.draft("L", (img.width // 4, img.height // 4))  # decode at reduced scale: cheap
    grey = img.convert("L")
    w, h = grey.size
    return Face(grey.crop((round(w * _FACE_BOX[0]), round(h * _FACE_BOX[1]),
                           round(w * _FACE_BOX[2]), round(h * _FACE_BOX[3]))))


def qr_thumbnail(portrait: bytes | Face, max_bytes: int) -> bytes:
    """A tiny WebP face thumbnail for the QR credential, at most max_bytes.

    The QR code has a fixed byte budget, so quality is given up before size: a slightly
    blockier face is still recognisable, a smaller one soon is not. Grey spends no bytes on
    colour, the crop keeps the face rather than the shoulders, and the fixed ladder of
    attempts makes the result the same on every run.
    """
    face = portrait if isinstance(portrait, Face) else portrait_face(portrait)
    # The ladder shrinks the output at (almost) every step: bisect for the first step that
    # fits, then walk on in case a step broke the order.
    low, high = 0, len(_THUMB_STEPS) - 1
    while low < high:
        middle = (low + high) // 2
        if len(face.step(middle)) <= max_bytes:
            high = middle
        else:
            low = middle + 1
    for index in range(low, len(_THUMB_STEPS)):
        webp = face.step(index)
        if len(webp) <= max_bytes:
            return webp
    raise Invalid(
        f"The photo cannot be made into a QR thumbnail of {max_bytes} bytes or less.",
        code="photo_thumbnail",
    )


def _check_byte_size(data: bytes, limits: PhotoLimits) -> None:
    """Refuse by length first: it costs nothing and bounds all the work that follows."""
    if not data:
        raise Invalid("The photo file is empty.", code="photo_unreadable")
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"The photo file is too large: at most {limits.max_bytes / 1_048_576:.3g} MB.",
            code="photo_too_large",
            max_bytes=limits.max_bytes,
        )


@contextmanager
def _refusing_bad_images() -> Iterator[None]:
    """Turn every way Pillow can fail on a hostile or broken file into a 422, never a 500."""
    try:
        yield
    except Image.UnidentifiedImageError as exc:
        raise Invalid(
            "The photo must be a JPEG, PNG or WebP image.", code="photo_unsupported"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except _DECODE_ERRORS as exc:
        raise Invalid(
            "The photo file is damaged or incomplete and cannot be read.",
            code="photo_unreadable",
        ) from exc


def _check_webp_canvas(data: bytes, limits: PhotoLimits) -> None:
    """Read a WebP canvas size ourselves: Pillow's WebP decoder allocates the canvas on open.

    JPEG and PNG headers are read without allocating pixels, but opening a WebP creates
    libwebp's decoder with its full canvas, guarded only by Pillow's global bomb limit.
    """
    size = _webp_canvas_size(data)
    if size is not None and size[0] * size[1] > limits.max_pixels:
        raise _too_many_pixels()


def _webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """Width and height declared by a WebP header (simple lossy, lossless or extended)."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return _le(data, 24, 3) + 1, _le(data, 27, 3) + 1
    if chunk == b"VP8L":
        bits = _le(data, 21, 4)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        return _le(data, 26, 2) & 0x3FFF, _le(data, 28, 2) & 0x3FFF
    return None


def _le(data: bytes, offset: int, length: int) -> int:
    return int.from_bytes(data[offset : offset + length], "little")


def _too_many_pixels() -> Invalid:
    return Invalid("The photo has too many pixels.", code="photo_too_many_pixels")


def _check_header(img: Image.Image, limits: PhotoLimits) -> None:
    """Refuse what the header already gives away, before any pixel memory is allocated."""
    width, height = img.size
    if width * height > limits.max_pixels:
        raise _too_many_pixels()
    if img.format != _MULTI_PICTURE_JPEG and getattr(img, "n_frames", 1) > 1:
        raise Invalid("Animated images cannot be used as a photo.", code="photo_animated")


def _decode_upright(img: Image.Image, limits: PhotoLimits) -> Image.Image:
    """Decode the pixels and turn them the way the camera meant them to be seen.

    Big JPEGs are decoded at a reduced DCT scale: never below what the card or the
    minimum-size rule needs, but far less memory and time for a 40 MP phone photo.
    """
    needed = max(*PORTRAIT_SIZE, limits.min_width, limits.min_height)
    img.draft(None, (needed, needed))
    img.load()
    try:
        ImageOps.exif_transpose(img, in_place=True)
    except Exception as exc:  # crafted EXIF can raise anything; the photo is unusable
        raise Invalid("The photo's orientation data is damaged.",
                      code="photo_unreadable") from exc
    return img


def _check_min_size(img: Image.Image, limits: PhotoLimits) -> None:
    """Refuse photos too small to print a recognisable face, measured upright."""
    width, height = img.size
    if width < limits.min_width or height < limits.min_height:
        raise Invalid(
            f"The photo is too small: at least {limits.min_width}x{limits.min_height} "
            f"pixels are needed, this one is {width}x{height}.",
            code="photo_too_small",
        )


def _to_srgb(img: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Bring colour-managed photos (wide-gamut phones, CMYK scans) into sRGB.

    The profile itself is never kept, so without this conversion such photos would print
    with shifted colours. A profile that cannot be applied is simply dropped.
    """
    if not icc_profile or _SRGB is None or img.mode not in ("RGB", "RGBA", "L", "CMYK"):
        return img
    output_mode = "RGBA" if img.mode == "RGBA" else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(img, source, _SRGB, outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img
    return converted or img


def _flatten(img: Image.Image) -> Image.Image:
    """Opaque 8-bit RGB: transparency goes onto white, the card's photo background."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L"):
        # 16-bit greyscale PNG: scale down instead of letting conversion clip it to white.
        img = img.convert("I").point(lambda value: value / 256).convert("L")
    if not img.has_transparency_data:
        return img if img.mode == "RGB" else img.convert("RGB")
    background = Image.new("RGBA", img.size, _WHITE)
    return Image.alpha_composite(background, img.convert("RGBA")).convert("RGB")


def _crop_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest 3:4 window: centred horizontally, around the face height vertically."""
    width, height = size
    box_width, box_height = PORTRAIT_SIZE
    if width * box_height > height * box_width:
        crop_width = round(height * box_width / box_height)
        left = (width - crop_width) // 2
        return left, 0, left + crop_width, height
    crop_height = round(width * box_height / box_width)
    top = round(height * _FACE_CENTRE - crop_height / 2)
    top = min(max(top, 0), height - crop_height)
    return 0, top, width, top + crop_height


def _encode(img: Image.Image, image_format: str, **options: int | bool) -> bytes:
    """Encode a fresh copy of the pixels, so no EXIF, XMP, ICC or comment can tag along.

    Pillow's encoders fall back to the source image's `info` for some metadata, so
    passing `exif=b""` alone is not enough; a new image has an empty `info`.
    """
    clean = Image.new(img.mode, img.size)
    clean.paste(img)
    out = io.BytesIO()
    clean.save(out, image_format, exif=b"", **options)
    return out.getvalue()
