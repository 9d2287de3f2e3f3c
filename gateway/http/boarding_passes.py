"""``POST /boarding-passes/scan``: a signed-in member uploads a photo or screenshot of a boarding pass.

The body is the picture itself (``Content-Type: image/png``, ``image/jpeg`` or ``image/webp``), at most
``[boarding_pass] image_max_bytes``; the answer is the decoded barcode string and the parsed pass.
Uploads and refusals go through ``gateway/http/uploads.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.http.uploads import image_refusal, read_boarding_pass_upload, refusal
from gateway.services import services
from loyalty.bcbp.dates import BoardingPassTooOld
from loyalty.bcbp.images import ImageRejected
from loyalty.bcbp.model import BoardingPassInvalid
from loyalty.bcbp.service import ScannedBoardingPass, scan_boarding_pass_image


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


async def scan_boarding_pass(request: Request) -> JSONResponse:
    rules = services(request).rules
    limits = rules.boarding_pass
    upload = await read_boarding_pass_upload(request, rules)
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
