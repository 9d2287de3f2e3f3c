"""Pictures members upload for credit, through the upload helper the boarding-pass scan uses.

``POST /retro-credit/boarding-pass`` (optional ``?ticketNumber=``): a photo or screenshot of a boarding
pass; its flights are asked for as retro credit (``[boarding_pass]`` limits). ``POST
/photo-credit/receipts?partner=CODE``: a receipt photo for a shopping partner with photo credit
(``[photo_credit]`` limits). The body is the picture itself (PNG, JPEG or WebP).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.http.common import error_response
from gateway.http.uploads import image_refusal, read_boarding_pass_upload, read_receipt_upload, refusal
from gateway.services import services
from loyalty.bcbp.images import decode_barcode_image
from loyalty.bcbp.model import BoardingPassInvalid
from loyalty.errors import DomainError, NotFound
from loyalty.images import ImageRejected
from loyalty.photo_credit.models import ReceiptUpload
from loyalty.photo_credit.uploads import upload_receipt
from loyalty.retro_credit.models import RetroCreditRequest
from loyalty.retro_credit.service import RetroCreditRefused, request_by_boarding_pass
from partners.charts import current_earning_chart
from partners.models import PartnerCapability
from partners.service import active_partner_with


def request_json(row: RetroCreditRequest) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state.value,
        "reason": None if row.reason is None else row.reason.value,
        "reasonText": row.reason_text or None,
        "ticketNumber": row.ticket_number,
        "flight": f"{row.carrier}{row.flight_number}",
        "flightDate": row.flight_date.isoformat(),
        "origin": row.origin,
        "destination": row.destination,
        "awardMiles": row.award_miles,
        "points": row.points,
        "qualifyingPoints": row.qualifying_points,
        "honCirclePoints": row.hon_circle_points,
    }


def receipt_json(row: ReceiptUpload) -> dict[str, Any]:
    return {
        "receiptId": row.receipt_id,
        "partner": row.partner_code,
        "state": row.state.value,
        "contentType": row.content_type,
        "sizeBytes": row.size_bytes,
        "uploadedAt": row.uploaded_at.isoformat(),
    }


async def retro_credit_by_boarding_pass_image(request: Request) -> JSONResponse:
    rules = services(request).rules
    limits = rules.boarding_pass
    upload = await read_boarding_pass_upload(request, rules)
    if isinstance(upload, JSONResponse):
        return upload
    try:
        barcode = await asyncio.to_thread(
            decode_barcode_image, upload.body, rules=limits, content_type=upload.content_type
        )
    except ImageRejected as rejected:
        return image_refusal(rejected)
    try:
        rows = await request_by_boarding_pass(
            account_id=upload.account_id,
            data=barcode.text,
            ticket_number=request.query_params.get("ticketNumber") or None,
            rules=rules,
            chart=current_earning_chart(),
            now=dt.datetime.now(dt.UTC),
        )
    except RetroCreditRefused as refused:
        return refusal(409, refused)
    except (BoardingPassInvalid, DomainError) as invalid:
        return refusal(422, invalid)
    return JSONResponse({"requests": [request_json(row) for row in rows]}, status_code=201)


async def photo_credit_receipt(request: Request) -> JSONResponse:
    rules = services(request).rules
    limits = rules.photo_credit
    upload = await read_receipt_upload(request, rules)
    if isinstance(upload, JSONResponse):
        return upload
    code = request.query_params.get("partner", "")
    if not code:
        return error_response(400, "PARTNER_MISSING", "name the partner: ?partner=CODE")
    try:
        partner = await active_partner_with(code, PartnerCapability.PHOTO_CREDIT)
    except NotFound as missing:
        return refusal(404, missing)
    try:
        receipt = await upload_receipt(
            account_id=upload.account_id,
            partner_id=partner.id,
            partner_code=partner.code,
            image=upload.body,
            content_type=upload.content_type,
            rules=limits,
            now=dt.datetime.now(dt.UTC),
        )
    except ImageRejected as rejected:
        return image_refusal(rejected)
    except DomainError as error:
        return refusal(409 if error.code == "DUPLICATE_RECEIPT" else 422, error)
    return JSONResponse(receipt_json(receipt), status_code=201)
