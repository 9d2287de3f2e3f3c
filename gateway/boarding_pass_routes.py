"""``POST /boarding-passes/scan``: a signed-in member uploads a photo or screenshot of a boarding pass.

The body is the picture itself (``Content-Type: image/png``, ``image/jpeg`` or ``image/webp``), at most
``[boarding_pass] image_max_bytes``; the answer is the decoded barcode string and the parsed pass.
Refusals use the webhook routes' error shape, with ``field`` and ``position`` where they apply.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from gateway.graphql import bearer_token
from gateway.tokens import TokenService
from gateway.webhook_routes import error_response, read_limited
from loyalty.bcbp.dates import BoardingPassTooOld
from loyalty.bcbp.images import ImageRejected
from loyalty.bcbp.model import BoardingPassInvalid
from loyalty.bcbp.service import ScannedBoardingPass, scan_boarding_pass_image
from loyalty.errors import DomainError
from loyalty.ports import Backends
from loyalty.rules import ProgrammeRules
from webhooks.inbound import DeliveryRefused

_STATUS = {"IMAGE_TOO_LARGE": 413, "IMAGE_TOO_MANY_PIXELS": 413, "IMAGE_TYPE_NOT_ALLOWED": 415}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _json(scanned: ScannedBoardingPass) -> dict[str, Any]:
    boarding_pass = {_camel(key): value for key, value in dataclasses.asdict(scanned.boarding_pass).items()}
    boarding_pass["legs"] = [
        {
            **{_camel(key): value for key, value in leg.items()},
            "flightDate": None if day is None else day.isoformat(),
        }
        for leg, day in zip(boarding_pass["legs"], scanned.flight_dates, strict=True)
    ]
    return {
        "symbology": None if scanned.symbology is None else scanned.symbology.value,
        "data": scanned.data,
        "boardingPass": boarding_pass,
    }


def refusal(status: int, error: DomainError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message, "field": error.field}
    if isinstance(error, BoardingPassInvalid):
        body["position"] = error.position
    return JSONResponse({"error": body}, status_code=status)


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
    tokens: TokenService = request.app.state.tokens
    ports: Backends = request.app.state.backends.ports
    token = bearer_token(request.headers.get("authorization"))
    principal = tokens.verify(token) if token else None
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


def image_refusal(rejected: ImageRejected) -> JSONResponse:
    return refusal(_STATUS.get(rejected.code, 422), rejected)


async def scan_boarding_pass(request: Request) -> JSONResponse:
    rules: ProgrammeRules = request.app.state.rules
    limits = rules.boarding_pass
    upload = await read_member_upload(
        request, purpose="bcbp-scan", per_minute=limits.scans_per_minute, max_bytes=limits.image_max_bytes
    )
    if isinstance(upload, JSONResponse):
        return upload
    try:
        scanned = await asyncio.to_thread(
            scan_boarding_pass_image,
            image=upload.body,
            content_type=upload.content_type,
            scanned_on=dt.datetime.now(dt.UTC).date(),
            rules=limits,
        )
    except ImageRejected as rejected:
        return image_refusal(rejected)
    except (BoardingPassInvalid, BoardingPassTooOld) as invalid:
        return refusal(422, invalid)
    return JSONResponse(_json(scanned))
