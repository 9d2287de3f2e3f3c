"""GraphiQL for developers, from our own static files (``gateway/graphiql``), under a strict CSP.

Development only: production mounts none of this. The page and its bundle are built from the npm
``graphiql`` package by ``npm run build --prefix gateway/graphiql`` and committed, so the service serves
them without Node.js or internet. Every response carries a Content-Security-Policy that allows scripts
and workers from this origin only (no CDN, no inline script, no eval), requests to this origin only
(``/graphql`` over HTTP and WebSocket, ``/admin/graphql`` from ``/admin/graphiql``), and styles from this origin plus the inline ones the editor
writes at run time.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.paths import ADMIN_GRAPHIQL_PATH, GRAPHIQL_PATH

GRAPHIQL_DIR = Path(__file__).resolve().parent.parent / "graphiql"
PAGE_PATH = GRAPHIQL_PATH
ADMIN_PAGE_PATH = ADMIN_GRAPHIQL_PATH
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "worker-src 'self'",
        # Monaco (GraphiQL's editor) writes <style> elements and style attributes at run time and has no
        # nonce hook; styles cannot run script, and scripts stay 'self' only.
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",  # GraphiQL's stylesheet embeds its fonts
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class WithSecurityHeaders:
    """Adds the CSP and its companions to every response of the wrapped app (page, bundle, workers:
    a worker script is governed by its own response's CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def graphiql_page(request: Request) -> Response:
    headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
    return FileResponse(GRAPHIQL_DIR / "index.html", media_type="text/html; charset=utf-8", headers=headers)


def graphiql_routes() -> list[BaseRoute]:
    """``/graphiql``, ``/admin/graphiql`` and their ``/graphiql/static`` files."""
    return [
        Route(PAGE_PATH, graphiql_page),
        Route(ADMIN_PAGE_PATH, graphiql_page),
        Mount(
            PAGE_PATH + "/static",
            app=WithSecurityHeaders(StaticFiles(directory=GRAPHIQL_DIR / "static")),
            name="graphiql-static",
        ),
    ]
