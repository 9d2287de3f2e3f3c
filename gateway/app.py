"""The ASGI application, in three steps: build the services (``build_services``), open and close what
they need around the app's life (``lifespan``), and the routes and middleware that serve them
(``routes``, ``middleware``). ``create_app`` joins them; routes reach the services through
``gateway.services.services(request)``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from gateway.backends import open_backends
from gateway.db import apply_migrations, close_database, open_database
from gateway.graphql.edge import EdgeLimits, GraphQLEdge
from gateway.graphql.federation import FederationRouterAuth
from gateway.graphql.persisted_queries import PersistedQueries, admin_safelist, member_safelist
from gateway.graphql.refusals import graphql_error_response
from gateway.graphql.serving import served_schema
from gateway.graphql.view import GraphQLView
from gateway.http.boarding_passes import scan_boarding_pass
from gateway.http.common import error_response
from gateway.http.credit_uploads import photo_credit_receipt, retro_credit_by_boarding_pass_image
from gateway.http.graphiql import ADMIN_PAGE_PATH, PAGE_PATH, graphiql_routes
from gateway.http.health import healthz, metrics_endpoint, readyz
from gateway.http.lounge_checks import lounge_check
from gateway.http.sign_in import complete_sign_in
from gateway.http.travel_id import travel_id_routes
from gateway.http.webhooks import partner_webhook
from gateway.hub_admin import WebhookHubAdmin
from gateway.logs import log_start
from gateway.metrics import Metrics
from gateway.middleware import BodySizeLimit, RequestContextMiddleware
from gateway.operators import OperatorTokens
from gateway.outages import unavailable_handlers
from gateway.partner_changes import follow_partner_changes
from gateway.partner_hub import delivery_policy
from gateway.partner_secrets import partner_secret_box
from gateway.rate_limits import EdgeRateLimits
from gateway.services import Opened, Services, services
from gateway.session_generations import SessionGenerations
from gateway.settings import Settings, load_settings
from gateway.tokens import TokenService, derive_key
from gateway.workers.background import background_loops
from loyalty.awards.config import current_awards
from loyalty.rules import current_rules
from partners.charts import current_earning_chart, current_rail_chart
from partners.signing import encrypt_plaintext_secrets
from partners.verification import VerificationCache
from webhooks.worker import stop_worker

log = logging.getLogger(__name__)
GRAPHQL_PATH = "/graphql"
ADMIN_GRAPHQL_PATH = "/admin/graphql"
GRAPHQL_PATHS = (GRAPHQL_PATH, ADMIN_GRAPHQL_PATH)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "HTTP_" + str(exc.status_code)
    if request.url.path in GRAPHQL_PATHS:  # a method the route does not take: GraphQL's error shape
        return graphql_error_response(exc.status_code, code, str(exc.detail), exc.headers)
    return error_response(exc.status_code, code, str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "INTERNAL", "internal error; the request id identifies it in the logs")


def freeze_start_up_objects(gen0_threshold: int) -> None:
    """Move everything built at start-up (schema, models, settings) out of the garbage collector's sight:
    later collections then scan only what requests allocate, which keeps the pauses (and p99) short.

    And collect the youngest generation every ``gen0_threshold`` allocations instead of Python's 700: a
    dashboard allocates thousands of short-lived objects, which reference counting frees anyway, so the
    default runs a young collection several times per request for next to nothing."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(gen0_threshold, older, oldest)


def build_services(settings: Settings) -> Services:
    """Everything that needs no connection: keys, tokens, rules, limits, metrics."""
    rules = current_rules()
    current_earning_chart()  # read and checked now: a broken chart file stops the start, not a request
    current_rail_chart()
    current_awards()  # the award rules and zone chart, likewise
    secret_key = settings.resolved_secret_key()
    partner_box = partner_secret_box(settings)
    return Services(
        settings=settings,
        metrics=Metrics(),
        rules=rules,
        tokens=TokenService(
            secret_key,
            ttl_s=settings.access_token_ttl_s,
            authenticated_window_s=rules.sign_in.authenticated_window_minutes * 60,
        ),
        totp_key=derive_key(secret_key, "milesgate totp secrets"),
        operators=OperatorTokens(secret_key),
        partner_box=partner_box,
        partner_verifications=VerificationCache(partner_box, ttl_s=settings.partner_cache_ttl_s),
        rate_limits=EdgeRateLimits(settings),
        complete_sign_in=complete_sign_in,
    )


Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def lifespan(app_services: Services) -> Lifespan:
    """Open the database and the backends (and, embedded, run the background loops) while the app runs."""

    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        settings = app_services.settings
        if not settings.is_production:
            await apply_migrations(settings)
        await open_database(settings)
        encrypted = await encrypt_plaintext_secrets(app_services.partner_box)
        if encrypted:
            log.info("encrypted partner signing secrets stored in plain text", extra={"count": encrypted})
        backends = await open_backends(
            settings.resolved_redis_url,
            cluster=settings.redis_cluster,
            prefix=settings.redis_prefix,
            retry_s=settings.redis_retry_s,
            on_fallback=app_services.metrics.count_redis_fallback,
        )
        await backends.reachable(where="at start")  # logs a warning if not: requests go on without it
        app_services.opened = Opened(
            backends=backends,
            hub_admin=WebhookHubAdmin(
                box=app_services.partner_box,
                policy=delivery_policy(settings),
                queue=backends.ports.queue,
                partitions=settings.inbox_partitions,
            ),
            session_generations=SessionGenerations(
                backends.ports.cache,
                local_ttl_s=settings.session_check_local_ttl_ms / 1000,
                shared_ttl_s=settings.session_check_shared_ttl_ms / 1000,
            ),
        )
        background: list[tuple[asyncio.Task[None], asyncio.Event]] = []
        changes = asyncio.Event()
        background.append(
            (
                asyncio.create_task(
                    follow_partner_changes(
                        backends.ports.pubsub, app_services.partner_verifications, changes
                    ),
                    name="partner-changes",
                ),
                changes,
            )
        )
        if settings.worker_in_process:
            loops = background_loops(
                settings,
                backends.ports,
                box=app_services.partner_box,
                rules=app_services.rules,
                consumer=f"gateway-{socket.gethostname()}",
                backlog=app_services.metrics.backlog(),
            )
            for name, loop in loops.items():
                stop = asyncio.Event()
                background.append((asyncio.create_task(loop(stop), name=name), stop))
        if app_services.freeze_gc_after_start:
            freeze_start_up_objects(settings.gc_gen0_threshold)
        log_start(log, "started", settings, env=settings.env.value, backends=backends.kind, pid=os.getpid())
        try:
            yield
        finally:
            for task, stop in background:
                await stop_worker(task, stop)
            await backends.close()
            await close_database()
            app_services.metrics.process_exit()

    return run


def graphql_endpoint(app_services: Services, *, admin: bool = False) -> GraphQLView:
    """The GraphQL view with its edge and schema (through the engine unless MILESGATE_GRAPHQL_FAST_PATH
    is off): the member schema, or with ``admin`` the operators' (its own limits, its own safelist in the
    safelist directory's ``admin/``, operator tokens only). Development: GraphiQL from our own static
    files (GET /graphql or /admin/graphql in a browser goes there); production: none."""
    settings = app_services.settings
    safelist = admin_safelist(settings) if admin else member_safelist(settings)
    persisted_queries = PersistedQueries(
        safelist=safelist,
        enforce_safelist=settings.safelist_enforced,
        apq=settings.persisted_queries,
        ttl_s=settings.persisted_query_ttl_s,
    )
    edge = GraphQLEdge(
        settings,
        metrics=app_services.metrics,
        rate_limits=app_services.rate_limits,
        persisted_queries=persisted_queries,
        limits=EdgeLimits.admin(settings) if admin else EdgeLimits.member(settings),
    )
    schema, view_class = served_schema(settings, edge, admin=admin)
    graphiql = ADMIN_PAGE_PATH if admin else PAGE_PATH
    return view_class(
        schema,
        rules=app_services.rules,
        tokens=app_services.tokens,
        totp_key=app_services.totp_key,
        operators=app_services.operators,
        edge=edge,
        graphql_ide=None if settings.is_production else "graphiql",
        graphiql_path=None if settings.is_production else graphiql,
        members=not admin,
        allow_queries_via_get=not settings.is_production,
        max_subscriptions_per_connection=settings.graphql_max_subscriptions,
    )


def routes(app_services: Services) -> list[BaseRoute]:
    graphql = graphql_endpoint(app_services)
    admin_graphql = graphql_endpoint(app_services, admin=True)
    served: list[BaseRoute] = [
        Route(GRAPHQL_PATH, graphql, methods=["GET", "POST"]),
        WebSocketRoute(GRAPHQL_PATH, graphql),
        Route(ADMIN_GRAPHQL_PATH, admin_graphql, methods=["GET", "POST"]),
        Route("/webhooks/partners/{partner_code}", partner_webhook, methods=["POST"]),
        Route("/webhooks/partners/{partner_code}/lounge-checks", lounge_check, methods=["POST"]),
        Route("/boarding-passes/scan", scan_boarding_pass, methods=["POST"]),
        Route("/retro-credit/boarding-pass", retro_credit_by_boarding_pass_image, methods=["POST"]),
        Route("/photo-credit/receipts", photo_credit_receipt, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        *travel_id_routes(),
    ]
    if not app_services.settings.is_production:
        served += graphiql_routes()
    return served


def middleware(app_services: Services) -> list[Middleware]:
    settings = app_services.settings
    stack = [
        Middleware(RequestContextMiddleware, metrics=app_services.metrics),
        Middleware(BodySizeLimit, path=GRAPHQL_PATH, max_bytes=settings.graphql_max_body_bytes),
        Middleware(BodySizeLimit, path=ADMIN_GRAPHQL_PATH, max_bytes=settings.admin_graphql_max_body_bytes),
    ]
    if settings.federation_router_secret:
        stack.append(
            Middleware(FederationRouterAuth, secret=settings.federation_router_secret.get_secret_value())
        )
    return stack


def create_app(settings: Settings | None = None) -> Starlette:
    app_services = build_services(settings or load_settings())
    app = Starlette(
        routes=routes(app_services),
        lifespan=lifespan(app_services),
        middleware=middleware(app_services),
        exception_handlers={
            HTTPException: http_error,
            Exception: server_error,
            **unavailable_handlers(GRAPHQL_PATHS),
        },
    )
    app.state.services = app_services
    return app


def create_served_app() -> Starlette:
    """The app ``milesgate serve`` runs: one per worker process, start-up objects frozen for the gc.

    Not in ``create_app``: tests make an app per test, and frozen objects are never collected."""
    app = create_app()
    services(app).freeze_gc_after_start = True
    return app
