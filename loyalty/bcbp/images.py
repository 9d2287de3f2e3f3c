"""Decode the barcode of an uploaded boarding-pass picture (PDF417, Aztec or QR) with zxing-cpp.

Limits come first, before any pixel is decoded: the upload's size in bytes, its format (sniffed from
the content, not trusted from the client's content type) and its size in pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum

import zxingcpp
from PIL import Image, UnidentifiedImageError

from loyalty.errors import ValidationFailed
from loyalty.rules import BoardingPassRules

CONTENT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}


class Symbology(StrEnum):
    """The barcode symbologies a boarding pass uses."""

    PDF417 = "PDF417"
    AZTEC = "AZTEC"
    QR_CODE = "QR_CODE"


_FORMATS = {
    zxingcpp.BarcodeFormat.PDF417: Symbology.PDF417,
    zxingcpp.BarcodeFormat.Aztec: Symbology.AZTEC,
    zxingcpp.BarcodeFormat.QRCode: Symbology.QR_CODE,
}


class ImageRejected(ValidationFailed):
    """The upload is not a picture we read, or holds no boarding-pass barcode; ``code`` says which."""


@dataclass(frozen=True, slots=True)
class DecodedBarcode:
    symbology: Symbology
    text: str


def _open(data: bytes, *, rules: BoardingPassRules, content_type: str | None) -> Image.Image:
    if not data:
        raise ImageRejected("The upload is empty.", field="image", code="IMAGE_EMPTY")
    if len(data) > rules.image_max_bytes:
        raise ImageRejected(
            f"A picture may have at most {rules.image_max_bytes:,} bytes.",
            field="image",
            code="IMAGE_TOO_LARGE",
        )
    allowed = {CONTENT_TYPES.get(name, "") for name in rules.image_formats}
    declared = (content_type or "").partition(";")[0].strip().lower()
    if declared and declared not in allowed:
        raise ImageRejected(
            f"Send {', '.join(sorted(allowed))}, not {declared}.",
            field="image",
            code="IMAGE_TYPE_NOT_ALLOWED",
        )
    try:
        image = Image.open(io.BytesIO(data), formats=list(rules.image_formats))
    except UnidentifiedImageError:
        raise ImageRejected(
            f"This is not a {', '.join(rules.image_formats)} picture.",
            field="image",
            code="IMAGE_TYPE_NOT_ALLOWED",
        ) from None
    width, height = image.size
    if width * height > rules.image_max_pixels:
        raise ImageRejected(
            f"A picture may have at most {rules.image_max_pixels:,} pixels.",
            field="image",
            code="IMAGE_TOO_MANY_PIXELS",
        )
    return image


def decode_barcode_image(
    data: bytes, *, rules: BoardingPassRules, content_type: str | None = None
) -> DecodedBarcode:
    """The boarding-pass barcode in a picture; among several, the first that looks like a format-M pass."""
    image = _open(data, rules=rules, content_type=content_type)
    try:
        pixels = image.convert("L")
    except (OSError, ValueError):
        raise ImageRejected("The picture is damaged.", field="image", code="IMAGE_UNREADABLE") from None
    formats = zxingcpp.BarcodeFormats(list(_FORMATS))
    found = [
        DecodedBarcode(symbology=_FORMATS[barcode.format], text=barcode.text)
        for barcode in zxingcpp.read_barcodes(pixels, formats=formats, text_mode=zxingcpp.TextMode.Plain)
        if barcode.valid and barcode.format in _FORMATS
    ]
    if not found:
        raise ImageRejected(
            "No PDF417, Aztec or QR code found in the picture.", field="image", code="NO_BARCODE_FOUND"
        )
    return next(
        (barcode for barcode in found if barcode.text[:1] == "M" and barcode.text[1:2] in "1234"), found[0]
    )
