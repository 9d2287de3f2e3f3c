"""``/healthz`` (alive), ``/readyz`` (the database and Redis answer, each named with its state) and
``/metrics`` (Prometheus, for the holder of ``MILESGATE_METRICS_TOKEN`` only: the API port is public)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.db import ping_database
from gateway.http.common import error_response
from gateway.metrics import metrics_refusal
from gateway.services import services

READY_TIMEOUT_S = 2.0
OK = "ok"
UNREACHABLE = "unreachable"


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    """Ready when the database and Redis (if configured) answer: ``{"ready": …, "checks": {"database":
    "ok" | "unreachable", "redis": "ok" | "unreachable" | "in-process"}}``, 503 when one is unreachable.

    Both are asked at once, each for at most ``READY_TIMEOUT_S``; the Redis probe also tells this
    process's Redis guard (``gateway.backends.outage``) what it found."""
    backends = services(request).backends

    async def database() -> str:
        try:
            await asyncio.wait_for(ping_database(), READY_TIMEOUT_S)
        except Exception:
            return UNREACHABLE
        return OK

    async def redis() -> str:
        if backends.kind != "redis":
            return "in-process"
        return OK if await backends.reachable(timeout_s=READY_TIMEOUT_S) else UNREACHABLE

    database_state, redis_state = await asyncio.gather(database(), redis())
    checks = {"database": database_state, "redis": redis_state}
    ready = UNREACHABLE not in checks.values()
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    app_services = services(request)
    refusal = metrics_refusal(request.headers.get("authorization"), app_services.settings.metrics_token)
    if refusal is not None:
        response = error_response(refusal.status, refusal.code, refusal.message)
        if refusal.status == 401:
            response.headers["www-authenticate"] = "Bearer"
        return response
    return Response(app_services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
