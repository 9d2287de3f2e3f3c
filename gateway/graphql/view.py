"""The Strawberry ASGI view: builds the typed context, with the member taken from the bearer token.

WebSockets speak graphql-transport-ws only (the older graphql-ws protocol is refused at the handshake),
and each ``subscribe`` message passes the same edge as an HTTP request (``EdgeTransportWSHandler``).
"""

from __future__ import annotations

import functools
from typing import Any, cast

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types.unset import UNSET, UnsetType

from gateway.graphql.edge import GraphQLEdge
from gateway.graphql.refusals import refusal_response
from gateway.operators import OperatorTokens
from gateway.partner_changes import partner_changed
from gateway.partner_directory import RegistryDirectory
from gateway.privacy import personal_data_sources
from gateway.services import services
from gateway.session_generations import signed_in_principal
from gateway.tokens import TokenService, bearer_token
from loyalty.members.sessions import Principal
from loyalty.rules import ProgrammeRules
from schema.context import Context
from schema.errors import NotAuthenticated
from schema.loaders import Loaders


class EdgeTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, each ``subscribe`` message taken as an HTTP request is: its token checked
    again (it may have expired since the connection began), then admitted by the edge (request rate limits
    of the client IP and the member, persisted query, safelist). A refusal is the operation's ``error``
    message; the connection stays open. What follows (token and validation limits, sensitive-operation
    limits, the error policy) is the schema extension's, the same for both transports."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        view = self.view
        if (
            not isinstance(view, GraphQLView)
            or not self.connection_acknowledged
            or message["id"] in self.operations
        ):
            await super().handle_subscribe(message)  # Strawberry closes the connection (4401, 4409)
            return
        admitted = await view.admit_subscription(self.context, message)
        if isinstance(admitted, GraphQLError):
            await self.send_message({"id": message["id"], "type": "error", "payload": [admitted.formatted]})
            return
        payload = message["payload"]
        await super().handle_subscribe(
            {
                "id": message["id"],
                "type": "subscribe",
                "payload": {
                    "query": admitted.query or "",
                    "variables": payload.get("variables"),
                    "operationName": payload.get("operationName"),
                },
            }
        )


class GraphQLView(GraphQL[Context, None]):
    """Backends come from the app's services at request time: the lifespan opens them after the view exists.

    WebSockets: graphql-transport-ws only, through ``EdgeTransportWSHandler``.

    With ``graphiql_path`` (development), a browser opening ``GET /graphql`` is sent to our GraphiQL
    rather than Strawberry's CDN page.

    With ``members=False`` (the operators' schema at ``/admin/graphql``) a bearer token is only ever taken
    as an operator token: no member is signed in there."""

    def __init__(
        self,
        *args: Any,
        rules: ProgrammeRules,
        tokens: TokenService,
        totp_key: bytes,
        operators: OperatorTokens,
        edge: GraphQLEdge,
        graphiql_path: str | None = None,
        members: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # The older graphql-ws protocol would need an edge of its own; a client asking only for it gets
        # Strawberry's 4406 (subprotocol not acceptable).
        self.protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        self.edge = edge
        self.rules = rules
        self.tokens = tokens
        self.totp_key = totp_key
        self.operators = operators
        self.graphiql_path = graphiql_path
        self.members = members
        self.privacy_sources = personal_data_sources()

    graphql_transport_ws_handler_class = EdgeTransportWSHandler

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
        response = await self.respond(Request(scope, receive=receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """The answer to one HTTP request."""
        try:
            return await self.run(request)
        except HTTPException as refused:
            return refusal_response(refused)

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.graphiql_path is None:
            return await super().render_graphql_ide(request)
        return RedirectResponse(self.graphiql_path, status_code=307)

    async def principal_for(self, request: Request | WebSocket) -> Principal | None:
        """The member of a valid bearer token whose session was not ended since it was issued."""
        generations = services(request).session_generations
        return await signed_in_principal(self.tokens, generations, request.headers.get("authorization"))

    async def connection_principal(self, context: Context) -> Principal | None:
        """The member of a WebSocket's connection_init token, if it is still valid and its session was not
        ended since it was issued."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        generations = services(context.request).session_generations
        return await signed_in_principal(self.tokens, generations, raw if isinstance(raw, str) else None)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A WebSocket is for a signed-in member: the connection_init payload carries the token."""
        principal = await self.connection_principal(context)
        if principal is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.principal = principal
        return cast(UnsetType, UNSET)

    async def admit_subscription(
        self, context: Context, message: SubscribeMessage
    ) -> GraphQLRequestData | GraphQLError:
        """A ``subscribe`` message as an HTTP request: authenticated anew (an expired token is refused
        as UNAUTHENTICATED; a session level follows the token's age), then admitted by the edge."""
        principal = await self.connection_principal(context)
        if principal is None:
            return NotAuthenticated()
        context.principal = principal
        payload = message["payload"]
        data = GraphQLRequestData(
            query=payload.get("query"),
            variables=payload.get("variables"),
            operation_name=payload.get("operationName"),
            extensions=payload.get("extensions"),
        )
        return await self.edge.admit(context.request, context, data)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        app_services = services(request)
        principal = await self.principal_for(request) if self.members else None
        token = bearer_token(request.headers.get("authorization")) if principal is None else None
        return Context(
            request=request,
            rules=self.rules,
            tokens=self.tokens,
            backends=app_services.backends.ports,
            loaders=Loaders(),
            sessions=app_services.session_generations,
            principal=principal,
            operator=await self.operators.admit(token) if token else None,
            totp_key=self.totp_key,
            privacy_sources=self.privacy_sources,
            partners=RegistryDirectory(
                box=app_services.partner_box,
                changed=functools.partial(
                    partner_changed, app_services.backends.ports.pubsub, app_services.partner_verifications
                ),
            ),
            hub=app_services.hub_admin,
            response=response,
        )
