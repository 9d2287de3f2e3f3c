"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from strawberry.types import Info as StrawberryInfo

from loyalty.members.models import SessionLevel

if TYPE_CHECKING:
    from loyalty.members.sessions import Principal
    from loyalty.ports import Backends
    from loyalty.rules import ProgrammeRules
    from resolvers.loaders import Loaders


class TokenIssuer(Protocol):
    """What resolvers need of the gateway's token service."""

    ttl_s: int

    def issue(self, *, account_id: int, level: SessionLevel) -> str: ...


@dataclass
class Context:
    request: Any
    rules: ProgrammeRules
    tokens: TokenIssuer
    backends: Backends
    loaders: Loaders
    principal: Principal | None = None
    connection_params: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


Info = StrawberryInfo[Context, None]
