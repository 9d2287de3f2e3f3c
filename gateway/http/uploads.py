"""The one way members upload a picture (boarding passes, receipts): who is uploading (bearer token), whether
they may upload now (a per-minute limit per purpose), the body under its size limit, and the refusals
in the webhook routes' error shape, with ``field`` and ``position`` where they apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from gateway.http.common import error_response, read_limited
from gateway.services import services
from gateway.session_generations import signed_in_principal
from loyalty.bcbp.model import BoardingPassInvalid
from loyalty.errors import DomainError
from loyalty.images import ImageRejected
from loyalty.rules import ProgrammeRules
from webhooks.inbound import DeliveryRefused

_STATUS = {"IMAGE_TOO_LARGE": 413, "IMAGE_TOO_MANY_PIXELS": 413, "IMAGE_TYPE_NOT_ALLOWED": 415}
SCAN_LIMIT_GROUP = "bcbp-scan"
"""Scans and retro-credit uploads of boarding passes count against one limit."""


def refusal(status: int, error: DomainError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message, "field": error.field}
    if isinstance(error, BoardingPassInvalid):
        body["position"] = error.position
    return JSONResponse({"error": body}, status_code=status)


def image_refusal(rejected: ImageRejected) -> JSONResponse:
    return refusal(_STATUS.get(rejected.code, 422), rejected)


@dataclass(frozen=True, slots=True)
class MemberUpload:
    """A signed-in member's picture, within the size and rate limits."""

    account_id: int
    body: bytes
    content_type: str | None


async def read_member_upload(
    request: Request, *, purpose: str, per_minute: int, max_bytes: int
) -> MemberUpload | JSONResponse:
    """Who is uploading (bearer token), whether they may upload now (``per_minute`` per ``purpose``),
    and the body up to ``max_bytes``; the refusal to answer with otherwise."""
    app_services = services(request)
    ports = app_services.backends.ports
    principal = await signed_in_principal(
        app_services.tokens, app_services.session_generations, request.headers.get("authorization")
    )
    if principal is None:
        return error_response(401, "UNAUTHENTICATED", "sign in to upload a picture")
    decision = await ports.rate_limiter.hit(
        f"{purpose}:{{acct:{principal.account_id}}}", limit=per_minute, window_s=60
    )
    if not decision.allowed:
        return error_response(429, "TOO_MANY_UPLOADS", f"at most {per_minute} pictures a minute")
    try:
        body = await read_limited(request, max_bytes)
    except DeliveryRefused:
        return error_response(413, "IMAGE_TOO_LARGE", f"a picture may have at most {max_bytes:,} bytes")
    except ClientDisconnect:
        return error_response(400, "CLIENT_DISCONNECTED", "the body was not sent completely")
    return MemberUpload(
        account_id=principal.account_id, body=body, content_type=request.headers.get("content-type")
    )


async def read_boarding_pass_upload(request: Request, rules: ProgrammeRules) -> MemberUpload | JSONResponse:
    """A picture of a boarding pass, under the ``[boarding_pass]`` limits."""
    limits = rules.boarding_pass
    return await read_member_upload(
        request,
        purpose=SCAN_LIMIT_GROUP,
        per_minute=limits.scans_per_minute,
        max_bytes=limits.image_max_bytes,
    )


async def read_receipt_upload(request: Request, rules: ProgrammeRules) -> MemberUpload | JSONResponse:
    """A picture of a receipt, under the ``[photo_credit]`` limits."""
    limits = rules.photo_credit
    return await read_member_upload(
        request,
        purpose="receipt-upload",
        per_minute=limits.uploads_per_minute,
        max_bytes=limits.image_max_bytes,
    )
