"""Where offline verification gets its inputs: files, URLs, and photos of cards."""

from __future__ import annotations

from pathlib import Path

import httpx
import zxingcpp
from PIL import Image, UnidentifiedImageError

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


class SourceError(ValueError):
    """An input could not be read; the message says which and why."""


def read_text(source: str) -> str:
    """A file's text, or a URL's body (for syncing a device while it is online)."""
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=15, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SourceError(f"Could not fetch {source}: {exc}") from exc
        return response.text
    try:
        return Path(source).read_text("utf-8")
    except OSError as exc:
        raise SourceError(f"Could not read {source}: {exc.strerror}") from exc


def qr_from_image(path: Path) -> str:
    """The text of the QR code in a photo or scan of a card."""
    try:
        with Image.open(path) as image:
            found = zxingcpp.read_barcodes(image.convert("RGB"),
                                           formats=zxingcpp.BarcodeFormat.QRCode)
    except (OSError, UnidentifiedImageError) as exc:
        raise SourceError(f"{path} is not a readable image.") from exc
    if not found:
        raise SourceError(f"No QR code found in {path}.")
    return found[0].text


def credential_text(argument: str) -> str:
    """The QR text itself, or the QR read from the image file it names."""
    path = Path(argument)
    if path.suffix.lower() in _IMAGE_SUFFIXES and path.exists():
        return qr_from_image(path)
    return argument.strip()
