"""The Strawberry ASGI view: builds the typed context, with the member taken from the bearer token."""

from __future__ import annotations

from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.operators import OperatorTokens
from gateway.partner_directory import RegistryDirectory
from gateway.persisted_queries import PersistedQueries, PersistedQueryError
from gateway.privacy import personal_data_sources
from gateway.rate_limits import EdgeRateLimits, client_ip, mark_refused
from gateway.tokens import TokenService
from loyalty.members.sessions import Principal
from loyalty.rules import ProgrammeRules
from schema.context import Context
from schema.members.loaders import Loaders


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class GraphQLView(GraphQL[Context, None]):
    """Backends come from ``app.state`` at request time: the lifespan opens them after the view exists."""

    def __init__(
        self,
        *args: Any,
        rules: ProgrammeRules,
        tokens: TokenService,
        totp_key: bytes,
        operators: OperatorTokens,
        rate_limits: EdgeRateLimits,
        persisted_queries: PersistedQueries,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rate_limits = rate_limits
        self.persisted_queries = persisted_queries
        self.rules = rules
        self.tokens = tokens
        self.totp_key = totp_key
        self.operators = operators
        self.privacy_sources = personal_data_sources()

    def encode_json(self, data: object) -> str:
        """Responses are encoded with orjson (several times faster than the standard library's json).

        A string, not bytes: Strawberry sends bytes over a WebSocket as binary frames, and
        graphql-transport-ws clients expect text frames."""
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """Request bodies too (orjson's decode error is a ``json.JSONDecodeError``: still a 400)."""
        return orjson.loads(data)

    def principal_for(self, request: Request | WebSocket) -> Principal | None:
        token = bearer_token(request.headers.get("authorization"))
        return self.tokens.verify(token) if token else None

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket once, at connection time, from the connection_init payload."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        token = bearer_token(raw) if isinstance(raw, str) else None
        principal = self.tokens.verify(token) if token else None
        if principal is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.principal = principal
        return cast(UnsetType, UNSET)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        principal = self.principal_for(request)
        token = bearer_token(request.headers.get("authorization")) if principal is None else None
        return Context(
            request=request,
            rules=self.rules,
            tokens=self.tokens,
            backends=request.app.state.backends.ports,
            loaders=Loaders(),
            principal=principal,
            operator=self.operators.verify(token) if token else None,
            totp_key=self.totp_key,
            privacy_sources=self.privacy_sources,
            partners=RegistryDirectory(box=request.app.state.partner_secret_box),
            hub=request.app.state.hub_admin,
            response=response,
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Count the request against the IP and member limits and resolve a persisted query first."""
        ports = request.app.state.backends.ports
        account_id = context.principal.account_id if context.principal is not None else None
        refusal = await self.rate_limits.admit_request(ports.rate_limiter, client_ip(request), account_id)
        if refusal is not None:
            mark_refused(context, refusal)
            return ExecutionResult(data=None, errors=[refusal])
        try:
            request_data = await self.persisted_queries.resolve(request_data, ports.cache)
        except PersistedQueryError as error:
            return ExecutionResult(data=None, errors=[error])
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
