"""Boarding-pass pictures: barcodes generated with zxing-cpp itself, decoded back; size and type limits."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

import pytest
import zxingcpp
from PIL import Image

from loyalty.bcbp.images import ImageRejected, Symbology, decode_barcode_image
from loyalty.bcbp.service import scan_boarding_pass_image
from loyalty.rules import current_rules
from tests.loyalty.test_bcbp import IATA_SAMPLE, TWO_LEGS

RULES = current_rules().boarding_pass


def picture(
    text: str, symbology: zxingcpp.BarcodeFormat, *, image_format: str = "PNG", scale: int = 3
) -> bytes:
    """A screenshot-like picture: the barcode on a white page with some margin."""
    barcode = Image.fromarray(zxingcpp.create_barcode(text, symbology).to_image(scale=scale))
    page = Image.new("L", (barcode.width + 200, barcode.height + 300), color=255)
    page.paste(barcode, (100, 150))
    buffer = io.BytesIO()
    page.convert("RGB").save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("symbology", "expected"),
    [
        (zxingcpp.BarcodeFormat.PDF417, Symbology.PDF417),
        (zxingcpp.BarcodeFormat.Aztec, Symbology.AZTEC),
        (zxingcpp.BarcodeFormat.QRCode, Symbology.QR_CODE),
    ],
)
@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_each_symbology_and_picture_format_decodes(
    symbology: zxingcpp.BarcodeFormat, expected: Symbology, image_format: str
) -> None:
    decoded = decode_barcode_image(picture(TWO_LEGS, symbology, image_format=image_format), rules=RULES)
    assert (decoded.symbology, decoded.text) == (expected, TWO_LEGS)


def test_a_scanned_picture_is_parsed_and_dated() -> None:
    scanned = scan_boarding_pass_image(
        image=picture(IATA_SAMPLE, zxingcpp.BarcodeFormat.Aztec),
        content_type="image/png",
        scanned_on=dt.date(2026, 11, 21),
        rules=RULES,
    )
    assert scanned.symbology is Symbology.AZTEC and scanned.data == IATA_SAMPLE
    assert scanned.boarding_pass.surname == "DESMARAIS"
    assert scanned.flight_dates == (dt.date(2026, 8, 14),)


def test_of_several_barcodes_the_boarding_pass_wins() -> None:
    other = Image.fromarray(
        zxingcpp.create_barcode("https://example.com/app", zxingcpp.BarcodeFormat.QRCode).to_image(scale=4)
    )
    boarding = Image.fromarray(
        zxingcpp.create_barcode(IATA_SAMPLE, zxingcpp.BarcodeFormat.PDF417).to_image(scale=3)
    )
    page = Image.new("L", (max(other.width, boarding.width) + 100, other.height + boarding.height + 150), 255)
    page.paste(other, (50, 50))
    page.paste(boarding, (50, other.height + 100))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    assert decode_barcode_image(buffer.getvalue(), rules=RULES).text == IATA_SAMPLE


def _blank(image_format: str, size: tuple[int, int] = (200, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type", "rules", "code"),
    [
        (b"", None, RULES, "IMAGE_EMPTY"),
        (b"x" * (RULES.image_max_bytes + 1), "image/png", RULES, "IMAGE_TOO_LARGE"),
        (_blank("PNG"), "image/png", replace(RULES, image_max_bytes=100), "IMAGE_TOO_LARGE"),
        (_blank("PNG"), "application/pdf", RULES, "IMAGE_TYPE_NOT_ALLOWED"),
        (b"%PDF-1.7 not a picture", None, RULES, "IMAGE_TYPE_NOT_ALLOWED"),
        (_blank("GIF"), None, RULES, "IMAGE_TYPE_NOT_ALLOWED"),  # sniffed, whatever the client says
        (_blank("GIF"), "image/png", RULES, "IMAGE_TYPE_NOT_ALLOWED"),
        (
            _blank("PNG", (3000, 3000)),
            "image/png",
            replace(RULES, image_max_pixels=1_000_000),
            "IMAGE_TOO_MANY_PIXELS",
        ),
        (_blank("PNG"), "image/png", RULES, "NO_BARCODE_FOUND"),
        (_blank("PNG")[:60], "image/png", RULES, "IMAGE_UNREADABLE"),
    ],
)
def test_limits_and_refusals_are_typed(
    data: bytes, content_type: str | None, rules: object, code: str
) -> None:
    with pytest.raises(ImageRejected) as raised:
        decode_barcode_image(data, rules=rules, content_type=content_type)  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.field) == (code, "image")


def test_a_linear_barcode_is_not_a_boarding_pass() -> None:
    data = picture("4006381333931", zxingcpp.BarcodeFormat.EAN13)
    with pytest.raises(ImageRejected) as raised:
        decode_barcode_image(data, rules=RULES)
    assert raised.value.code == "NO_BARCODE_FOUND"
