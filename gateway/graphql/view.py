"""The Strawberry ASGI view: builds the typed context, with the member taken from the bearer token."""

from __future__ import annotations

from typing import Any, cast

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from gateway.graphql.edge import GraphQLEdge
from gateway.graphql.refusals import refusal_response
from gateway.operators import OperatorTokens
from gateway.partner_directory import RegistryDirectory
from gateway.privacy import personal_data_sources
from gateway.services import services
from gateway.tokens import TokenService, bearer_token
from loyalty.members.sessions import Principal
from loyalty.rules import ProgrammeRules
from schema.context import Context
from schema.members.loaders import Loaders


class GraphQLView(GraphQL[Context, None]):
    """Backends come from the app's services at request time: the lifespan opens them after the view exists.

    With ``graphiql_path`` (development), a browser opening ``GET /graphql`` is sent to our GraphiQL
    rather than Strawberry's CDN page."""

    def __init__(
        self,
        *args: Any,
        rules: ProgrammeRules,
        tokens: TokenService,
        totp_key: bytes,
        operators: OperatorTokens,
        edge: GraphQLEdge,
        graphiql_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.edge = edge
        self.rules = rules
        self.tokens = tokens
        self.totp_key = totp_key
        self.operators = operators
        self.graphiql_path = graphiql_path
        self.privacy_sources = personal_data_sources()

    def encode_json(self, data: object) -> str:
        """Responses are encoded with orjson (several times faster than the standard library's json).

        A string, not bytes: Strawberry sends bytes over a WebSocket as binary frames, and
        graphql-transport-ws clients expect text frames."""
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """Request bodies too (orjson's decode error is a ``json.JSONDecodeError``: still a 400)."""
        return orjson.loads(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's, but a request refused before it runs is answered in the GraphQL error shape
        (``refusals``) rather than in plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive=receive))
        except HTTPException as refused:
            response = refusal_response(refused)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.graphiql_path is None:
            return await super().render_graphql_ide(request)
        return RedirectResponse(self.graphiql_path, status_code=307)

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
        app_services = services(request)
        principal = self.principal_for(request)
        token = bearer_token(request.headers.get("authorization")) if principal is None else None
        return Context(
            request=request,
            rules=self.rules,
            tokens=self.tokens,
            backends=app_services.backends.ports,
            loaders=Loaders(),
            principal=principal,
            operator=self.operators.verify(token) if token else None,
            totp_key=self.totp_key,
            privacy_sources=self.privacy_sources,
            partners=RegistryDirectory(box=app_services.partner_box),
            hub=app_services.hub_admin,
            response=response,
        )
