"""``/healthz`` (alive), ``/readyz`` (the database and Redis answer) and ``/metrics`` (Prometheus, for the
holder of ``MILESGATE_METRICS_TOKEN`` only: the API port is public)."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.db import ping_database
from gateway.http.common import error_response
from gateway.services import services
from gateway.tokens import bearer_token

READY_TIMEOUT_S = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    """Ready when the database and Redis (if configured) answer; 503 names what failed."""
    backends = services(request).backends
    checks: dict[str, str] = {}
    for name, probe in (("database", ping_database), ("redis", backends.ping)):
        if name == "redis" and backends.kind != "redis":
            checks[name] = "in-process"
            continue
        try:
            await asyncio.wait_for(probe(), READY_TIMEOUT_S)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(value in ("ok", "in-process") for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    app_services = services(request)
    expected = app_services.settings.metrics_token
    if expected is None:
        return error_response(403, "METRICS_DISABLED", "/metrics needs MILESGATE_METRICS_TOKEN to be set")
    given = bearer_token(request.headers.get("authorization")) or ""
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        response = error_response(401, "METRICS_TOKEN_INVALID", "send the metrics token as a bearer token")
        response.headers["www-authenticate"] = "Bearer"
        return response
    return Response(app_services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
