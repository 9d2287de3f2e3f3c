"""Uploaded pictures (boarding passes, receipts): limits checked before any pixel is decoded.

The upload's size in bytes, its format (sniffed from the content, not trusted from the client's content
type) and its size in pixels, each from the rules of the area that takes the upload.
"""

from __future__ import annotations

import io
from typing import Protocol

from PIL import Image, UnidentifiedImageError

from loyalty.errors import ValidationFailed

CONTENT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}


class ImageLimits(Protocol):
    """What an area's rules say about its uploads (``BoardingPassRules``, ``PhotoCreditRules``)."""

    @property
    def image_max_bytes(self) -> int: ...

    @property
    def image_max_pixels(self) -> int: ...

    @property
    def image_formats(self) -> tuple[str, ...]: ...


class ImageRejected(ValidationFailed):
    """The upload is not a picture we take, or holds nothing we read; ``code`` says which."""


def open_limited_image(data: bytes, *, limits: ImageLimits, content_type: str | None) -> Image.Image:
    """The picture, opened lazily, once it passed the byte, type and pixel limits (ImageRejected if not)."""
    if not data:
        raise ImageRejected("The upload is empty.", field="image", code="IMAGE_EMPTY")
    if len(data) > limits.image_max_bytes:
        raise ImageRejected(
            f"A picture may have at most {limits.image_max_bytes:,} bytes.",
            field="image",
            code="IMAGE_TOO_LARGE",
        )
    allowed = {CONTENT_TYPES.get(name, "") for name in limits.image_formats}
    declared = (content_type or "").partition(";")[0].strip().lower()
    if declared and declared not in allowed:
        raise ImageRejected(
            f"Send {', '.join(sorted(allowed))}, not {declared}.",
            field="image",
            code="IMAGE_TYPE_NOT_ALLOWED",
        )
    try:
        image = Image.open(io.BytesIO(data), formats=list(limits.image_formats))
    except UnidentifiedImageError:
        raise ImageRejected(
            f"This is not a {', '.join(limits.image_formats)} picture.",
            field="image",
            code="IMAGE_TYPE_NOT_ALLOWED",
        ) from None
    width, height = image.size
    if width * height > limits.image_max_pixels:
        raise ImageRejected(
            f"A picture may have at most {limits.image_max_pixels:,} pixels.",
            field="image",
            code="IMAGE_TOO_MANY_PIXELS",
        )
    return image
