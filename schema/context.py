"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from strawberry.types import Info as StrawberryInfo

from loyalty.members.models import SessionLevel

if TYPE_CHECKING:
    from loyalty.members.sessions import Challenge, Principal
    from loyalty.operators import Operator
    from loyalty.ports import Backends
    from loyalty.privacy.sources import PersonalDataSource
    from loyalty.rules import ProgrammeRules
    from partners.secret_box import SecretBox
    from resolvers.entities import EntityLoaders
    from resolvers.hub import HubAdmin
    from resolvers.loaders import Loaders


class TokenIssuer(Protocol):
    """What resolvers need of the gateway's token service (``gateway.tokens.TokenService``)."""

    ttl_s: int
    challenge_ttl_s: int

    def issue(self, *, account_id: int, level: SessionLevel, auth_time: int | None = None) -> str: ...

    def issue_challenge(self, *, account_id: int, method: str, platform: str) -> str: ...

    def verify_challenge(self, token: str) -> Challenge | None: ...


FEDERATION_ROUTER_STATE = "federation_router"
"""The request-state attribute the gateway sets to True for a request from the federation router."""


@dataclass
class Context:
    request: Any
    rules: ProgrammeRules
    tokens: TokenIssuer
    backends: Backends
    loaders: Loaders
    principal: Principal | None = None
    operator: Operator | None = None
    """Set for an operator token (admin operations); never at the same time as ``principal``."""
    partner_box: SecretBox | None = None
    """Encrypts partners' signing secrets (admin operations create them)."""
    connection_params: dict[str, Any] | None = None
    totp_key: bytes = b""
    privacy_sources: list[PersonalDataSource] = field(default_factory=list)
    hub: HubAdmin | None = None
    """The partner webhook hub for admin operations (``gateway.hub_admin``)."""
    extras: dict[str, Any] = field(default_factory=dict)
    response: Any = None
    """The HTTP sub-response (status and headers the answer will carry); None on a WebSocket."""
    _entity_loaders: EntityLoaders | None = field(default=None, repr=False)

    @property
    def entity_loaders(self) -> EntityLoaders:
        """The federation entity DataLoaders, made on the first entity reference of the request."""
        if self._entity_loaders is None:
            from resolvers.entities import EntityLoaders  # resolvers.entities imports this module

            self._entity_loaders = EntityLoaders()
        return self._entity_loaders

    @property
    def federation_router(self) -> bool:
        """Whether the request carries the federation router's shared secret (checked by the gateway's
        ``FederationRouterAuth`` middleware, which marks the request's state)."""
        state = getattr(self.request, "state", None)
        return getattr(state, FEDERATION_ROUTER_STATE, False) is True


Info = StrawberryInfo[Context, None]
