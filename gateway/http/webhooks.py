"""HTTP entry point for partner webhooks: size limit, then ``webhooks.inbound`` verifies, checks and stores.

A delivery that cannot be stored (the database unreachable) is answered ``503 SERVICE_UNAVAILABLE`` with
Retry-After by the app's handler (``gateway.outages``): the partner sends it again. One that is stored is
answered 2xx even when Redis is away; the inbox sweeper queues it later."""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from gateway.http.common import error_response, read_limited
from gateway.services import services
from loyalty.ports import BackendUnavailable
from webhooks.inbound import DeliveryRefused, check_partner_code, receive
from webhooks.worker import enqueue

log = logging.getLogger(__name__)


async def partner_webhook(request: Request) -> JSONResponse:
    app_services = services(request)
    settings = app_services.settings
    queue = app_services.backends.ports.queue
    partner_code = request.path_params["partner_code"]
    try:
        check_partner_code(partner_code)
        body = await read_limited(request, settings.webhook_max_body_bytes)
        stored = await receive(
            partner_code=partner_code,
            headers=request.headers,
            body=body,
            tolerance_s=settings.webhook_tolerance_s,
            box=app_services.partner_box,
            verifications=app_services.partner_verifications,
        )
    except DeliveryRefused as refused:
        # The code goes into the log only once it has a partner code's form (not 300 characters or a NUL).
        shown = partner_code if refused.code != "PARTNER_CODE_INVALID" else "(malformed)"
        log.info("webhook refused", extra={"partner": shown, "code": refused.code})
        return error_response(refused.status, refused.code, refused.message, refused.path)
    except ClientDisconnect:
        return error_response(400, "CLIENT_DISCONNECTED", "the body was not sent completely")
    if not stored.duplicate:
        # Stored is what counts: the sweeper queues pending rows again, so the partner gets its 2xx either way.
        try:
            await enqueue(queue, stored.inbox_id, stored.account_hint, partitions=settings.inbox_partitions)
        except BackendUnavailable:
            pass  # Redis is away: the guard logged it once (gateway.backends.outage), not once per delivery
        except Exception:
            log.warning("could not queue inbox row", exc_info=True, extra={"inbox_id": stored.inbox_id})
    status = 200 if stored.duplicate else 202
    return JSONResponse({"id": stored.inbox_id, "duplicate": stored.duplicate}, status_code=status)
