"""The worker's metrics and its own small HTTP port.

What waits for the workers lives in the database, so the backlog is read there: one transaction of a
few indexed counts every ``MILESGATE_WORKER_METRICS_INTERVAL_S`` (``read_backlog``,
``run_backlog_metrics``), recorded in the gauges of ``gateway.metrics.BacklogMetrics``: the partner inbox
by state, dead letters, the outbound queue and its oldest delivery, the relay's lag and the notification
outbox. A scrape only renders the last reading, so scrapes cost the database nothing.

``milesgate worker`` serves them on ``MILESGATE_WORKER_METRICS_HOST:PORT`` (``serve_worker_metrics``):
``/metrics`` for the holder of ``MILESGATE_METRICS_TOKEN`` as on the gateway, ``/healthz`` (alive) and
``/readyz`` (the database and Redis answer). A gateway that runs the worker in-process (embedded) shows
the same gauges on its own ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from gateway.db import ping_database
from gateway.metrics import Backlog, BacklogMetrics, metrics_refusal
from gateway.settings import Settings
from loyalty.cancellation import being_cancelled
from loyalty.events.models import DomainEvent
from loyalty.notifications.models import Notification, NotificationState
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound.models import DeliveryState, OutboundDelivery

log = logging.getLogger(__name__)

INBOX_STATES = (InboxState.PENDING, InboxState.FAILED, InboxState.UNMATCHED)
"""The states that wait for someone; processed rows are history and are not counted."""
READY_TIMEOUT_S = 2.0
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _age_s(oldest: object, now: dt.datetime) -> float:
    """Seconds since ``oldest`` (a row's time, or None when no row waits)."""
    return max((now - oldest).total_seconds(), 0.0) if isinstance(oldest, dt.datetime) else 0.0


async def read_backlog(now: dt.datetime | None = None) -> Backlog:
    """Count what waits, in one transaction; each query is served by an index on (state, ...) or
    (published_at, id), so it reads the waiting rows only."""
    now = now or dt.datetime.now(dt.UTC)
    async with in_transaction():
        inbox_counts = (
            await PartnerInbox.filter(state__in=INBOX_STATES)
            .group_by("state")
            .annotate(count=Count("id"))
            .values_list("state", "count")
        )
        inbox_oldest = (
            await PartnerInbox.filter(state=InboxState.PENDING)
            .order_by("received_at")
            .first()
            .values_list("received_at", flat=True)
        )
        outbound_pending = await OutboundDelivery.filter(state=DeliveryState.PENDING).count()
        outbound_oldest = (
            await OutboundDelivery.filter(state=DeliveryState.PENDING)
            .order_by("created_at")
            .first()
            .values_list("created_at", flat=True)
        )
        dead_letters = await OutboundDelivery.filter(state=DeliveryState.FAILED).count()
        relay_pending = await DomainEvent.filter(published_at__isnull=True).count()
        relay_oldest = (
            await DomainEvent.filter(published_at__isnull=True)
            .order_by("id")
            .first()
            .values_list("occurred_at", flat=True)
        )
        notifications_pending = await Notification.filter(state=NotificationState.PENDING).count()
        notifications_oldest = (
            await Notification.filter(state=NotificationState.PENDING)
            .order_by("created_at")
            .first()
            .values_list("created_at", flat=True)
        )
    inbox = {state.value: 0 for state in INBOX_STATES}
    for state, count in inbox_counts:
        inbox[InboxState(state).value] = int(count)
    return Backlog(
        inbox=inbox,
        inbox_oldest_pending_s=_age_s(inbox_oldest, now),
        outbound_pending=outbound_pending,
        outbound_oldest_pending_s=_age_s(outbound_oldest, now),
        outbound_dead_letters=dead_letters,
        relay_pending=relay_pending,
        relay_lag_s=_age_s(relay_oldest, now),
        notifications_pending=notifications_pending,
        notifications_oldest_pending_s=_age_s(notifications_oldest, now),
    )


async def refresh_backlog(gauges: BacklogMetrics) -> Exception | None:
    """Read the backlog into ``gauges``. A failure is counted and returned, and the gauges keep their last
    reading (``milesgate_backlog_read_timestamp_seconds`` shows its age)."""
    now = dt.datetime.now(dt.UTC)
    try:
        backlog = await read_backlog(now)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        gauges.read_errors.inc()
        return exc
    gauges.record(backlog, read_at=now)
    return None


async def run_backlog_metrics(gauges: BacklogMetrics, stop: asyncio.Event, *, every_s: float) -> None:
    """Read the backlog at once, then every ``every_s`` seconds until ``stop`` is set. One log line when
    the readings start failing and one when they work again, not one per reading."""
    failing = False
    while not stop.is_set():
        error = await refresh_backlog(gauges)
        if error is not None and not failing:
            log.warning("backlog metrics cannot be read: %s: %s", type(error).__name__, error)
        elif error is None and failing:
            log.info("backlog metrics read again")
        failing = error is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)


Probe = Callable[[], Awaitable[None]]


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    """The gateway's error shape (``gateway.http.common.error_response``)."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def worker_metrics_app(
    settings: Settings, registry: CollectorRegistry, *, redis_ping: Probe | None
) -> Starlette:
    """``/metrics`` (bearer ``MILESGATE_METRICS_TOKEN``, as on the gateway), ``/healthz`` and ``/readyz``
    (the database, and Redis when ``redis_ping`` is given, answer within 2 s; 503 names what failed)."""

    async def metrics(request: Request) -> Response:
        refusal = metrics_refusal(request.headers.get("authorization"), settings.metrics_token)
        if refusal is not None:
            response = _refusal(refusal.status, refusal.code, refusal.message)
            if refusal.status == 401:
                response.headers["www-authenticate"] = "Bearer"
            return response
        return Response(generate_latest(registry), media_type=PROMETHEUS_TEXT)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        probes: dict[str, Probe | None] = {"database": ping_database, "redis": redis_ping}
        checks: dict[str, str] = {}
        for name, probe in probes.items():
            if probe is None:
                checks[name] = "in-process"
                continue
            try:
                await asyncio.wait_for(probe(), READY_TIMEOUT_S)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        ready = all(value in ("ok", "in-process") for value in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return Starlette(
        routes=[Route("/metrics", metrics), Route("/healthz", healthz), Route("/readyz", readyz)]
    )


class WorkerMetricsPortError(RuntimeError):
    """The worker's metrics port cannot be bound (in use, or the address is not this machine's)."""


def bind_worker_metrics(settings: Settings) -> socket.socket:
    """The listening socket of the worker's metrics port, bound now so that a port in use stops the
    worker at start with a clear message."""
    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise WorkerMetricsPortError(
            f"MILESGATE_WORKER_METRICS_HOST {host!r} cannot be used: {exc.strerror or exc}"
        ) from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise WorkerMetricsPortError(
            f"cannot listen on {host}:{port} (MILESGATE_WORKER_METRICS_HOST, MILESGATE_WORKER_METRICS_PORT; "
            f"0 turns the worker's port off): {exc.strerror or exc}"
        ) from exc
    sock.setblocking(False)
    return sock


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the worker's event loop: the worker handles SIGTERM itself and stops this server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_worker_metrics(app: Starlette, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set."""
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_config=None, server_header=False)
    server = _EmbeddedServer(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="worker-metrics-server")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
    finally:
        stopping.cancel()
        if not serving.done():
            serving.cancel()
            try:
                await serving
            except asyncio.CancelledError:
                if being_cancelled():
                    raise  # this task was told to stop meanwhile: that goes on, only the server's end stops here
        sock.close()
