"""What one app serves with, typed: built before it starts (``Services``), the backends and the hub
administration opened by its lifespan (``Opened``), and ``services(request)``, the one way a route, the
GraphQL view or a test reaches them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request

from gateway.backends import BackendSet
from gateway.hub_admin import WebhookHubAdmin
from gateway.metrics import Metrics
from gateway.operators import OperatorTokens
from gateway.rate_limits import EdgeRateLimits
from gateway.session_generations import SessionGenerations
from gateway.settings import Settings
from gateway.tokens import TokenService
from loyalty.rules import ProgrammeRules
from partners.secret_box import SecretBox
from partners.verification import VerificationCache


class CompleteSignIn(Protocol):
    """Finishes a sign-in outside GraphQL (Travel ID): second factor if enabled, else a session."""

    async def __call__(
        self,
        request: Request,
        *,
        account_id: int,
        method: str,
        platform: str | None,
        trusted_device_hash: str | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Opened:
    """What the lifespan opens: the backends (queue, pub/sub, rate limiter, cache), the hub
    administration that queues on them and the session check that caches in them."""

    backends: BackendSet
    hub_admin: WebhookHubAdmin
    session_generations: SessionGenerations


@dataclass(slots=True)
class Services:
    settings: Settings
    metrics: Metrics
    rules: ProgrammeRules
    tokens: TokenService
    totp_key: bytes
    operators: OperatorTokens
    partner_box: SecretBox
    partner_verifications: VerificationCache
    """Partners' signing material, kept per process (``partners.verification``)."""
    rate_limits: EdgeRateLimits
    complete_sign_in: CompleteSignIn
    freeze_gc_after_start: bool = False
    """Served processes (``create_served_app``) freeze the start-up objects for the gc; tests do not."""
    opened: Opened | None = None

    def _opened(self) -> Opened:
        if self.opened is None:
            raise RuntimeError("the app has not started: its lifespan opens the backends")
        return self.opened

    @property
    def backends(self) -> BackendSet:
        return self._opened().backends

    @property
    def hub_admin(self) -> WebhookHubAdmin:
        return self._opened().hub_admin

    @property
    def session_generations(self) -> SessionGenerations:
        return self._opened().session_generations


def services(holder: HTTPConnection | Starlette) -> Services:
    """The services of the app a request (or WebSocket) came to, or of an app itself."""
    app = holder if isinstance(holder, Starlette) else holder.app
    found = app.state.services
    if not isinstance(found, Services):
        raise RuntimeError("not an app made by gateway.app.create_app")
    return found
