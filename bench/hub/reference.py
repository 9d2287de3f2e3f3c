"""The reference: a hand-written Starlette + asyncpg partner webhook endpoint.

``POST /webhooks/partners/{code}`` does what the issue's reference does, and nothing more: the body read
with the same size limit, the Standard Webhooks ``v1`` signature checked with the standard library's HMAC
(the partner's secret is known to the process, as a cache would hold it), the timestamp checked against
the same tolerance, the body parsed with orjson and checked for a ``type`` and a ``data`` object, and one
``INSERT ... ON CONFLICT DO NOTHING`` into ``reference_inbox``, a table with the same columns and unique
indexes as milesgate's ``partner_inbox`` (``run.py`` creates it with ``LIKE partner_inbox INCLUDING ALL``).
It answers 202 for a stored delivery and 200 for a duplicate, as milesgate does. No queue, no schema.

Run (``run.py`` does): ``uvicorn bench.hub.reference:create_app --factory --workers 2`` with
``REFERENCE_DATABASE_URL``, ``REFERENCE_PARTNER_ID`` and ``REFERENCE_SECRET`` set; 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import os
import time
from collections.abc import AsyncIterator

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MAX_BODY = 256 * 1024
TOLERANCE_S = 300
INSERT = """
INSERT INTO reference_inbox (partner_id, webhook_id, business_key, event_type, payload, state, attempts,
                             received_at)
VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6)
ON CONFLICT DO NOTHING
RETURNING id
"""


def refused(status: int, code: str) -> Response:
    return Response(orjson.dumps({"error": code}), status_code=status, media_type="application/json")


def signed_by(key: bytes, webhook_id: str, stamp: str, body: bytes, header: str) -> bool:
    expected = hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    for item in header.split():
        version, _, value = item.partition(",")
        if version == "v1":
            try:
                offered = base64.b64decode(value, validate=True)
            except ValueError:
                return False
            if hmac.compare_digest(expected, offered):
                return True
    return False


async def partner_webhook(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_BODY:
        return refused(413, "BODY_TOO_LARGE")
    headers = request.headers
    webhook_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signature = headers.get("webhook-signature", "")
    if not webhook_id or not stamp.isdigit() or not signature or len(webhook_id) > 128:
        return refused(400, "HEADER_MISSING")
    if abs(time.time() - int(stamp)) > TOLERANCE_S:
        return refused(401, "TIMESTAMP_OUT_OF_TOLERANCE")
    state = request.app.state
    if not signed_by(state.key, webhook_id, stamp, body, signature):
        return refused(401, "SIGNATURE_INVALID")
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        return refused(400, "BODY_NOT_JSON")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return refused(400, "EVENT_TYPE_MISSING")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("transactionId"), str):
        return refused(400, "EVENT_DATA_MISSING")
    pool: asyncpg.Pool = state.pool
    stored = await pool.fetchval(
        INSERT,
        state.partner_id,
        webhook_id,
        f"accrual:{data['transactionId']}",
        event["type"],
        orjson.dumps(event).decode(),
        dt.datetime.now(dt.UTC),
    )
    if stored is None:
        return Response(b'{"id":null,"duplicate":true}', status_code=200, media_type="application/json")
    return Response(
        orjson.dumps({"id": stored, "duplicate": False}), status_code=202, media_type="application/json"
    )


def create_app() -> Starlette:
    database_url = os.environ["REFERENCE_DATABASE_URL"]
    pool_size = int(os.environ.get("REFERENCE_POOL_SIZE", "10"))
    secret = os.environ["REFERENCE_SECRET"].removeprefix("whsec_")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(database_url, min_size=1, max_size=pool_size)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = Starlette(
        routes=[Route("/webhooks/partners/{partner_code}", partner_webhook, methods=["POST"])],
        lifespan=lifespan,
    )
    app.state.key = base64.b64decode(secret)
    app.state.partner_id = int(os.environ["REFERENCE_PARTNER_ID"])
    return app
