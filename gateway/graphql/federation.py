"""The federation router's credential: a shared secret in the ``Milesgate-Router-Secret`` header.

A Federation 2 router (Apollo Router, say) fetches ``_service { sdl }`` and sends ``_entities`` queries
with this header, and forwards the member's ``Authorization`` header next to it. This middleware, added
only when ``MILESGATE_FEDERATION_ROUTER_SECRET`` is set, marks a request whose header matches; the schema's
``IsFederationRouter`` permission reads the mark (``schema.context.Context.federation_router``).
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from schema.context import FEDERATION_ROUTER_STATE
from schema.federation import ROUTER_SECRET_HEADER

_HEADER = ROUTER_SECRET_HEADER.encode("latin-1")


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class FederationRouterAuth:
    def __init__(self, app: ASGIApp, *, secret: str) -> None:
        self.app = app
        self._expected = _digest(secret.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.is_router(scope):
            # A copy: the server may share the lifespan state dict between requests.
            scope["state"] = {**scope.get("state", {}), FEDERATION_ROUTER_STATE: True}
        await self.app(scope, receive, send)

    def is_router(self, scope: Scope) -> bool:
        for name, value in scope.get("headers") or ():
            if name == _HEADER:
                return hmac.compare_digest(_digest(value), self._expected)
        return False
