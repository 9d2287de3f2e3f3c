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
    from resolvers.hub import HubAdmin
    from resolvers.loaders import Loaders


class TokenIssuer(Protocol):
    """What resolvers need of the gateway's token service (``gateway.tokens.TokenService``)."""

    ttl_s: int
    challenge_ttl_s: int

    def issue(self, *, account_id: int, level: SessionLevel, auth_time: int | None = None) -> str: ...

    def issue_challenge(self, *, account_id: int, method: str, platform: str) -> str: ...

    def verify_challenge(self, token: str) -> Challenge | None: ...


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


Info = StrawberryInfo[Context, None]
