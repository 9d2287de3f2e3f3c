"""Apps built on the test's stack with settings of the test's own (production mode, small limits)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from pydantic import SecretStr
from starlette.applications import Starlette

from gateway.settings import Environment, Settings
from tests.support import deadline_s

ClientFactory = Callable[..., Awaitable[AsyncClient]]


@dataclass
class EdgeApps:
    settings: Settings
    stack: AsyncExitStack

    async def app(self, *, production: bool = False, **overrides: Any) -> Starlette:
        """A fresh app, started; production mode keeps the stack's (already migrated) database."""
        from gateway.app import create_app

        update = dict(overrides)
        if production:
            update |= {
                "env": Environment.PRODUCTION,
                "database_url": SecretStr(self.settings.resolved_database_url),
            }
        app = create_app(self.settings.model_copy(update=update))
        await self.stack.enter_async_context(
            LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30))
        )
        return app

    async def client(self, app: Starlette, client_ip: str = "203.0.113.7") -> AsyncClient:
        """A client whose requests come from ``client_ip``."""
        transport = ASGITransport(app=app, client=(client_ip, 50000))
        return await self.stack.enter_async_context(AsyncClient(transport=transport, base_url="http://edge"))


@pytest.fixture
async def edge_apps(settings: Settings) -> AsyncIterator[EdgeApps]:
    async with AsyncExitStack() as stack:
        yield EdgeApps(settings, stack)


@pytest.fixture
def edge_client(edge_apps: EdgeApps) -> ClientFactory:
    """``await edge_client(production=True, rate_limit_sign_in=3, ...)``: a client of a fresh app."""

    async def build(*, client_ip: str = "203.0.113.7", **overrides: Any) -> AsyncClient:
        return await edge_apps.client(await edge_apps.app(**overrides), client_ip)

    return build
