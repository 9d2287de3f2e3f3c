"""HTTP entry point for lounge and Fast Lane checks: size limit, then ``webhooks.lounge_checks`` verifies,
decides and records, and the partner gets the decision in the answer (``200``)."""

from __future__ import annotations

import datetime as dt
import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from gateway.http.common import error_response, read_limited
from gateway.services import services
from loyalty.lounges.admission import admission_table
from webhooks.inbound import DeliveryRefused
from webhooks.lounge_checks import answer_lounge_check

log = logging.getLogger(__name__)


async def lounge_check(request: Request) -> JSONResponse:
    app_services = services(request)
    settings = app_services.settings
    partner_code = request.path_params["partner_code"]
    try:
        body = await read_limited(request, settings.webhook_max_body_bytes)
        answer = await answer_lounge_check(
            partner_code=partner_code,
            headers=request.headers,
            body=body,
            tolerance_s=settings.webhook_tolerance_s,
            box=app_services.partner_box,
            rules=app_services.rules,
            table=admission_table(),
            now=dt.datetime.now(dt.UTC),
            verifications=app_services.partner_verifications,
        )
    except DeliveryRefused as refused:
        shown = partner_code if refused.code != "PARTNER_CODE_INVALID" else "(malformed)"
        log.info("lounge check refused", extra={"partner": shown, "code": refused.code})
        return error_response(refused.status, refused.code, refused.message, refused.path)
    except ClientDisconnect:
        return error_response(400, "CLIENT_DISCONNECTED", "the body was not sent completely")
    log.info(
        "lounge check answered",
        extra={"partner": partner_code, "admitted": answer["admitted"], "reason": answer["reason"]},
    )
    return JSONResponse(answer, status_code=200)
