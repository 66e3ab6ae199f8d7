"""Photo intake: what the card prints is clean, upright and safe, whatever was uploaded."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw, ImageFile

from idsvc.enrollment.photo import (
    PORTRAIT_SIZE,
    PhotoLimits,
    normalise_portrait,
    portrait_face,
    qr_thumbnail,
)
from idsvc.errors import DomainError, Invalid

RED = (255, 0, 0)
SKIN = (224, 172, 138)
METADATA_KEYS = {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"}


def face(size: tuple[int, int] = (720, 960), seed: int = 7) -> Image.Image:
    """A face-like portrait with blotches and grain, so JPEG and WebP have real work to do.

    Pure pixel noise would average away in a 48x64 thumbnail; the blotches survive it.
    """
    width, height = size
    rng = random.Random(seed)
    coarse = (width // 30, height // 30)
    blotches = Image.frombytes("RGB", coarse, rng.randbytes(coarse[0] * coarse[1] * 3))
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    backdrop = Image.linear_gradient("L").resize(size).convert("RGB")
    img = Image.blend(backdrop, blotches.resize(size, Image.Resampling.BICUBIC), 0.4)
    img = Image.blend(img, grain, 0.15)
    draw = ImageDraw.Draw(img)
    cx, cy = width // 2, int(height * 0.42)
    rx, ry = width // 5, height // 5
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=SKIN)
    for eye_x in (cx - rx // 2, cx + rx // 2):
        draw.ellipse((eye_x - 20, cy - 50, eye_x + 20, cy - 20), fill=(40, 30, 20))
    mouth_y = cy + ry // 2
    draw.rectangle((cx - rx // 2, mouth_y, cx + rx // 2, mouth_y + 15), fill=(150, 60, 60))
    return img


def encode(img: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    img.save(out, image_format, **options)
    return out.getvalue()


def refusal(data: bytes, limits: PhotoLimits = PhotoLimits()) -> str:
    """The error code normalise_portrait refuses `data` with."""
    with pytest.raises(DomainError) as caught:
        normalise_portrait(data, limits)
    assert caught.value.message
    return caught.value.code


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def assert_clean_portrait(data: bytes) -> Image.Image:
    img = opened(data)
    assert (img.format, img.size, img.mode) == ("JPEG", PORTRAIT_SIZE, "RGB")
    assert "progressive" not in img.info
    assert not METADATA_KEYS & img.info.keys()
    assert not img.getexif()
    return img


def png_of_size(width: int, height: int) -> bytes:
    """A real all-black 1-bit PNG: tiny on disk however many pixels it declares."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = bytes(1 + (width + 7) // 8) * 1000
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(rows) for _ in range(height // 1000))
    idat += packer.compress(rows[: len(rows) // 1000 * (height % 1000)]) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any image's pixel data gets decoded."""

    def refuse_load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_load)


@pytest.mark.parametrize(
    ("image_format", "mode"),
    [("JPEG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("WEBP", "RGB"), ("WEBP", "RGBA")],
)
def test_accepted_formats_become_a_clean_portrait_jpeg(image_format: str, mode: str) -> None:
    data = encode(face().convert(mode), image_format)

    assert_clean_portrait(normalise_portrait(data))


def test_transparency_is_flattened_onto_white() -> None:
    img = face().convert("RGBA")
    img.paste((0, 0, 0, 0), (0, 0, 720, 100))

    portrait = assert_clean_portrait(normalise_portrait(encode(img, "PNG")))

    assert min(portrait.getpixel((300, 5))) > 245


def test_rotated_phone_photo_is_turned_upright_and_loses_gps() -> None:
    stored = face((1200, 900))  # landscape on disk, portrait once orientation 6 is applied
    stored.paste(RED, (0, 0, 150, 150))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 7.5)
    data = encode(stored, "JPEG", exif=exif, comment=b"at home", xmp=b"<x:xmpmeta/>")
    assert opened(data).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    portrait = assert_clean_portrait(normalise_portrait(data))

    assert_near(portrait.getpixel((590, 10)), RED)
    assert not_near(portrait.getpixel((10, 10)), RED)


def test_sideways_upload_is_measured_upright() -> None:
    stored = face((400, 300))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 8

    assert_clean_portrait(normalise_portrait(encode(stored, "JPEG", exif=exif)))


def test_icc_profile_is_applied_then_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(face(), "JPEG", icc_profile=srgb)

    assert_clean_portrait(normalise_portrait(data))


def test_broken_icc_profile_is_dropped() -> None:
    data = encode(face(), "PNG", icc_profile=b"not a profile" * 20)

    assert_clean_portrait(normalise_portrait(data))


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    assert_clean_portrait(normalise_portrait(encode(face().convert("CMYK"), "JPEG")))


def test_sixteen_bit_greyscale_keeps_its_tones() -> None:
    grey = Image.new("I;16", (600, 800), 32768)

    portrait = assert_clean_portrait(normalise_portrait(encode(grey, "PNG")))

    assert_near(portrait.getpixel((300, 400)), (128, 128, 128))


def test_multi_picture_jpeg_from_a_phone_is_accepted() -> None:
    img = face()
    data = encode(img, "MPO", save_all=True, append_images=[img.resize((300, 400))])
    assert opened(data).format == "MPO"

    assert_clean_portrait(normalise_portrait(data))


def test_tall_photo_keeps_the_upper_part() -> None:
    img = face((600, 1600))
    img.paste(RED, (0, 0, 600, 300))  # above the window centred at 45% of the height
    img.paste(RED, (0, 1150, 600, 1600))  # below it

    portrait = assert_clean_portrait(normalise_portrait(encode(img, "PNG")))

    assert not_near(portrait.getpixel((10, 3)), RED)
    assert not_near(portrait.getpixel((10, 796)), RED)


def test_wide_photo_is_cropped_around_the_centre() -> None:
    img = face((1600, 800))
    img.paste(RED, (0, 0, 480, 800))
    img.paste(RED, (1120, 0, 1600, 800))

    portrait = assert_clean_portrait(normalise_portrait(encode(img, "PNG")))

    assert not_near(portrait.getpixel((3, 400)), RED)
    assert not_near(portrait.getpixel((596, 400)), RED)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: encode(face((300, 400)), "GIF"), "photo_unsupported"),
        (lambda: encode(face((300, 400)), "BMP"), "photo_unsupported"),
        (lambda: encode(face((300, 400)), "TIFF"), "photo_unsupported"),
        (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="600"/>', "photo_unsupported"),
        (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "photo_unsupported"),
        (lambda: b"name,photo\nalice,me.jpg\n", "photo_unsupported"),
        (lambda: random.Random(3).randbytes(5000), "photo_unsupported"),
        (lambda: b"", "photo_unreadable"),
        (lambda: encode(face(), "JPEG")[:20_000], "photo_unreadable"),
        (lambda: encode(face(), "PNG")[:20_000], "photo_unreadable"),
    ],
    ids=["gif", "bmp", "tiff", "svg", "pdf", "text", "random", "empty", "cut-jpeg", "cut-png"],
)
def test_other_files_are_refused(make: Callable[[], bytes], code: str) -> None:
    assert refusal(make()) == code


def test_file_over_the_byte_limit_is_refused() -> None:
    assert refusal(encode(face(), "JPEG"), PhotoLimits(max_bytes=10_000)) == "photo_too_large"


@pytest.mark.usefixtures("no_pixel_decoding")
@pytest.mark.parametrize("size", [(8000, 6000), (20_000, 20_000)], ids=["over-ours", "huge"])
def test_png_bomb_is_refused_from_its_header(size: tuple[int, int]) -> None:
    assert refusal(png_of_size(*size)) == "photo_too_many_pixels"


def test_pillow_bomb_warning_raised_as_error_is_a_refusal() -> None:
    data = png_of_size(10_000, 10_000)  # above Pillow's warning threshold, below its error
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)

        assert refusal(data, PhotoLimits(max_pixels=200_000_000)) == "photo_too_many_pixels"


def test_webp_bomb_is_refused_before_pillow_opens_it(monkeypatch: pytest.MonkeyPatch) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    header = bytearray(encode(face(), "WEBP", exif=exif))  # EXIF makes it an extended WebP
    assert header[12:16] == b"VP8X"
    header[24:30] = (9000 - 1).to_bytes(3, "little") + (9000 - 1).to_bytes(3, "little")

    def refuse_open(*args: object, **kwargs: object) -> Image.Image:
        raise AssertionError("the WebP decoder was created")

    monkeypatch.setattr(Image, "open", refuse_open)

    assert refusal(bytes(header)) == "photo_too_many_pixels"


def test_custom_pixel_limit_is_applied() -> None:
    data = encode(face(), "JPEG")

    assert refusal(data, PhotoLimits(max_pixels=720 * 960 - 1)) == "photo_too_many_pixels"


@pytest.mark.parametrize("size", [(200, 300), (300, 399), (299, 400)])
def test_small_photo_is_refused(size: tuple[int, int]) -> None:
    assert refusal(encode(face(size), "JPEG")) == "photo_too_small"


def test_smallest_allowed_photo_is_accepted() -> None:
    assert_clean_portrait(normalise_portrait(encode(face((300, 400)), "JPEG")))


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_animated_image_is_refused(image_format: str) -> None:
    frames = [face(seed=1), face(seed=2)]
    data = encode(frames[0], image_format, save_all=True, append_images=frames[1:], duration=100)
    assert opened(data).n_frames == 2

    assert refusal(data) == "photo_animated"


@pytest.fixture(scope="module")
def portrait() -> bytes:
    return normalise_portrait(encode(face(), "JPEG"))


@pytest.mark.parametrize("budget", [300, 450, 600])
def test_qr_thumbnail_is_a_small_webp(portrait: bytes, budget: int) -> None:
    thumbnail = qr_thumbnail(portrait, budget)

    assert len(thumbnail) <= budget
    assert thumbnail[:4] == b"RIFF"
    assert thumbnail[8:12] == b"WEBP"
    img = opened(thumbnail)
    assert img.format == "WEBP"
    assert img.width * 4 == img.height * 3
    assert 24 <= img.width <= 48


def test_qr_thumbnail_is_grey(portrait: bytes) -> None:
    red, green, blue = opened(qr_thumbnail(portrait, 600)).convert("RGB").split()

    assert ImageChops.difference(red, green).getextrema()[1] <= 8
    assert ImageChops.difference(green, blue).getextrema()[1] <= 8


def test_qr_thumbnail_is_deterministic(portrait: bytes) -> None:
    assert qr_thumbnail(portrait, 450) == qr_thumbnail(portrait, 450)


def test_qr_thumbnail_uses_the_budget(portrait: bytes) -> None:
    assert len(qr_thumbnail(portrait, 300)) < len(qr_thumbnail(portrait, 2000))


def test_a_face_encodes_each_step_of_the_ladder_once(portrait: bytes) -> None:
    face = portrait_face(portrait)
    assert qr_thumbnail(face, 400) == qr_thumbnail(portrait, 400)
    first = face.step(3)
    assert face.step(3) is first  # issuance trying a smaller budget pays nothing twice


def test_qr_thumbnail_refuses_an_impossible_budget(portrait: bytes) -> None:
    with pytest.raises(Invalid) as caught:
        qr_thumbnail(portrait, 40)

    assert caught.value.code == "photo_thumbnail"


def assert_near(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 30) -> None:
    assert all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True)), pixel


def not_near(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 60) -> bool:
    return any(abs(a - b) > tolerance for a, b in zip(pixel, expected, strict=True))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_crafted_exif_that_crashes_the_transposer_is_refused():
    """A fuzzed JPEG whose EXIF orientation entry has a broken type (found by mutation)."""
    crafted = (Path(__file__).parent / "data" / "bad_exif_orientation.jpg").read_bytes()
    assert refusal(crafted) == "photo_unreadable"
