"""Apps built on the test's stack with settings of the test's own (production mode, small limits)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from gateway.settings import Environment, Settings

ClientFactory = Callable[..., Awaitable[AsyncClient]]


@pytest.fixture
async def edge_client(settings: Settings) -> AsyncIterator[ClientFactory]:
    """``await edge_client(production=True, rate_limit_sign_in=3, ...)``: a client of a fresh app.

    Production mode keeps the stack's database (the embedded one is already migrated) and backends.
    ``client_ip`` sets the address the app sees.
    """
    from gateway.app import create_app

    async with AsyncExitStack() as stack:

        async def build(
            *, production: bool = False, client_ip: str = "203.0.113.7", **overrides: Any
        ) -> AsyncClient:
            update = dict(overrides)
            if production:
                update |= {"env": Environment.PRODUCTION, "database_url": settings.resolved_database_url}
            app = create_app(settings.model_copy(update=update))
            await stack.enter_async_context(LifespanManager(app, startup_timeout=30, shutdown_timeout=30))
            transport = ASGITransport(app=app, client=(client_ip, 50000))
            return await stack.enter_async_context(AsyncClient(transport=transport, base_url="http://edge"))

        yield build
