"""The Strawberry ASGI view: builds the typed context, with the member taken from the bearer token."""

from __future__ import annotations

from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from gateway.graphql.edge import GraphQLEdge
from gateway.operators import OperatorTokens
from gateway.partner_directory import RegistryDirectory
from gateway.privacy import personal_data_sources
from gateway.services import services
from gateway.session_generations import signed_in_principal
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

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.graphiql_path is None:
            return await super().render_graphql_ide(request)
        return RedirectResponse(self.graphiql_path, status_code=307)

    async def principal_for(self, request: Request | WebSocket) -> Principal | None:
        """The member of a valid bearer token whose session was not ended since it was issued."""
        generations = services(request).session_generations
        return await signed_in_principal(self.tokens, generations, request.headers.get("authorization"))

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket once, at connection time, from the connection_init payload."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        generations = services(context.request).session_generations
        principal = await signed_in_principal(self.tokens, generations, raw if isinstance(raw, str) else None)
        if principal is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.principal = principal
        return cast(UnsetType, UNSET)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        app_services = services(request)
        principal = await self.principal_for(request)
        token = bearer_token(request.headers.get("authorization")) if principal is None else None
        return Context(
            request=request,
            rules=self.rules,
            tokens=self.tokens,
            backends=app_services.backends.ports,
            loaders=Loaders(),
            sessions=app_services.session_generations,
            principal=principal,
            operator=self.operators.verify(token) if token else None,
            totp_key=self.totp_key,
            privacy_sources=self.privacy_sources,
            partners=RegistryDirectory(box=app_services.partner_box),
            hub=app_services.hub_admin,
            response=response,
        )
