"""The typed per-request context every schema resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.types import Info as StrawberryInfo

from schema.loaders import EntityLoaders, Loaders

if TYPE_CHECKING:
    from loyalty.members.sessions import Principal
    from loyalty.operators import Operator
    from loyalty.ports import Backends
    from loyalty.privacy.sources import PersonalDataSource
    from loyalty.rules import ProgrammeRules
    from resolvers.hub import HubAdmin
    from resolvers.partners import PartnerDirectory
    from resolvers.sign_in import SessionRevocations, TokenIssuer


FEDERATION_ROUTER_STATE = "federation_router"
"""The request-state attribute the gateway sets to True for a request from the federation router."""


@dataclass
class Context:
    request: Any
    rules: ProgrammeRules
    tokens: TokenIssuer
    backends: Backends
    loaders: Loaders
    sessions: SessionRevocations
    """Told of every revocation, so the member's earlier access tokens stop working."""
    principal: Principal | None = None
    operator: Operator | None = None
    """Set for an operator token (admin operations); never at the same time as ``principal``."""
    connection_params: dict[str, Any] | None = None
    totp_key: bytes = b""
    privacy_sources: list[PersonalDataSource] = field(default_factory=list)
    hub: HubAdmin | None = None
    """The partner webhook hub for admin operations (``gateway.hub_admin``)."""
    partners: PartnerDirectory | None = None
    """The partner registry and its earning chart (``gateway.partner_directory``)."""
    extras: dict[str, Any] = field(default_factory=dict)
    response: Any = None
    """The HTTP sub-response (status and headers the answer will carry); None on a WebSocket."""
    _entity_loaders: EntityLoaders | None = field(default=None, repr=False)

    @property
    def entity_loaders(self) -> EntityLoaders:
        """The federation entity DataLoaders, made on the first entity reference of the request."""
        if self._entity_loaders is None:
            self._entity_loaders = EntityLoaders()
        return self._entity_loaders

    @property
    def federation_router(self) -> bool:
        """Whether the request carries the federation router's shared secret (checked by the gateway's
        ``FederationRouterAuth`` middleware, which marks the request's state)."""
        state = getattr(self.request, "state", None)
        return getattr(state, FEDERATION_ROUTER_STATE, False) is True


Info = StrawberryInfo[Context, None]
