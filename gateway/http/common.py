"""What the non-GraphQL routes share: the JSON error shape and a body read under a size limit."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from webhooks.inbound import DeliveryRefused


def error_response(status: int, code: str, message: str, path: str = "") -> JSONResponse:
    """``{"error": {"code", "message"}}``, with ``path`` (e.g. ``data.member``) when a payload field failed."""
    error = {"code": code, "message": message}
    if path:
        error["path"] = path
    return JSONResponse({"error": error}, status_code=status)


async def read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it passes ``limit`` bytes (whatever Content-Length says)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise DeliveryRefused(413, "BODY_TOO_LARGE", f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DeliveryRefused(413, "BODY_TOO_LARGE", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
