"""Photo intake of an import: a file that already is a card portrait is kept as it is;
anything else goes through the same normalisation (and refusals) as an upload."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from idsvc.enrollment.photo import PORTRAIT_SIZE, card_portrait_and_face, normalise_portrait
from idsvc.errors import DomainError
from tests.factories import portrait

CARD_PORTRAIT = normalise_portrait(portrait())


def _jpeg(size: tuple[int, int] = PORTRAIT_SIZE, **options: object) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(CARD_PORTRAIT)).resize(size).save(out, "JPEG", **options)
    return out.getvalue()


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (40.0, 42.0, 51.0)}  # GPSInfo: where the photo was taken
    return exif.tobytes()


def _card_portrait(data: bytes) -> bytes:
    return card_portrait_and_face(data)[0]


def test_a_card_portrait_is_kept_byte_for_byte() -> None:
    assert _card_portrait(CARD_PORTRAIT) == CARD_PORTRAIT
    progressive = _jpeg(progressive=True)
    assert _card_portrait(progressive) == progressive


@pytest.mark.parametrize("upload", [
    pytest.param(_jpeg(exif=_exif_with_gps()), id="exif-gps"),
    pytest.param(_jpeg(comment=b"scanned by the old system"), id="comment"),
    pytest.param(_jpeg(icc_profile=b"\0" * 200), id="icc-profile"),
    pytest.param(CARD_PORTRAIT + b"hidden payload\xff\xd9", id="data-after-the-end"),
    pytest.param(_jpeg((601, 800)), id="one-pixel-wider"),
    pytest.param(portrait("PNG", PORTRAIT_SIZE), id="png-of-the-right-size"),
    pytest.param(portrait(), id="phone-photo"),
])
def test_anything_else_is_normalised_like_an_upload(upload: bytes) -> None:
    result = _card_portrait(upload)
    assert result != upload
    assert result == normalise_portrait(upload)
    with Image.open(io.BytesIO(result)) as img:
        assert (img.format, img.size, img.mode) == ("JPEG", PORTRAIT_SIZE, "RGB")
        assert not img.getexif() and "icc_profile" not in img.info
        assert "comment" not in img.info


@pytest.mark.parametrize("upload", [b"", b"not a photo", CARD_PORTRAIT[:2000]])
def test_what_an_upload_may_not_be_is_refused_with_the_same_code(upload: bytes) -> None:
    with pytest.raises(DomainError) as expected:
        normalise_portrait(upload)
    with pytest.raises(DomainError) as refused:
        _card_portrait(upload)
    assert refused.value.code == expected.value.code
