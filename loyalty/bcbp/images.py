"""Decode the barcode of an uploaded boarding-pass picture (PDF417, Aztec or QR) with zxing-cpp.

Limits come first, before any pixel is decoded (:func:`loyalty.images.open_limited_image`): the upload's
size in bytes, its format and its size in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import zxingcpp

from loyalty.images import ImageRejected, open_limited_image
from loyalty.rules import BoardingPassRules

__all__ = ["DecodedBarcode", "ImageRejected", "Symbology", "decode_barcode_image"]


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


@dataclass(frozen=True, slots=True)
class DecodedBarcode:
    symbology: Symbology
    text: str


def decode_barcode_image(
    data: bytes, *, rules: BoardingPassRules, content_type: str | None = None
) -> DecodedBarcode:
    """The boarding-pass barcode in a picture; among several, the first that looks like a format-M pass."""
    image = open_limited_image(data, limits=rules, content_type=content_type)
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
