"""The view's fast path: the request admitted (limits, persisted query) in Strawberry's ``execute_single``,
before Strawberry builds the operation's execution context and extensions, which a refused request
then never costs; a persisted document then runs through the engine's ``PersistedPath`` rather than
Strawberry's ``Schema.execute``.

A JSON ``POST`` naming a persisted document skips Strawberry's HTTP view as well (``_persisted_post``):
the body is decoded once, the context built by the same ``get_context`` (the token and the session
check), the request admitted by the same edge, and the answer made by Strawberry's ``process_result``
and ``create_response``. Anything else about the request (another content type, a batch, a streaming
``Accept``, a field of the wrong type, a document the persisted path hands back) goes through
Strawberry's ``run``, admitted once all the same.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.graphql.engine.persisted import PersistedPath, is_persisted
from gateway.graphql.view import GraphQLView
from schema.context import Context

_POST_OPERATIONS = frozenset(OperationType.from_http("POST"))
_admitted: ContextVar[GraphQLRequestData | None] = ContextVar("milesgate_graphql_admitted", default=None)
"""A request the persisted path admitted and then handed to Strawberry's ``run``: not admitted twice."""


def _persisted_request(body: bytes) -> GraphQLRequestData | None:
    """A single JSON request naming a persisted document, every field of the type Strawberry expects;
    None for anything else (Strawberry's ``run`` parses it and answers what is wrong with it)."""
    if b"persistedQuery" not in body:
        return None  # a document sent as text: not decoded twice
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    query, variables = data.get("query"), data.get("variables")
    extensions, operation_name = data.get("extensions"), data.get("operationName")
    if (
        not isinstance(query, str | None)
        or not isinstance(variables, dict | None)
        or not isinstance(extensions, dict)
        or not isinstance(operation_name, str | None)
    ):
        return None
    request = GraphQLRequestData(
        query=query, variables=variables, operation_name=operation_name, extensions=extensions
    )
    return request if is_persisted(request) else None


class FastPathView(GraphQLView):
    def __init__(self, *args: Any, persisted: PersistedPath | None = None, **kwargs: Any) -> None:
        """``persisted``: the app's persisted-document path (None: every request through Strawberry)."""
        super().__init__(*args, **kwargs)
        self.persisted = persisted

    async def respond(self, request: Request) -> Response:
        if self.persisted is not None and request.method == "POST":
            response = await self._persisted_post(request, self.persisted)
            if response is not None:
                return response
        return await super().respond(request)

    async def _persisted_post(self, request: Request, persisted: PersistedPath) -> Response | None:
        """The answer to a JSON ``POST`` of a persisted document, or None to leave it to ``run``."""
        if "application/json" not in request.headers.get("content-type", ""):
            return None
        if self._get_stream_transport_from_headers(request.headers) is not None:
            return None
        data = _persisted_request(await request.body())
        if data is None:
            return None
        root_value: None = None  # Strawberry's view has none (``get_root_value``, not overridden)
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        admitted = await self.edge.admit(request, context, data)
        if isinstance(admitted, GraphQLError):
            result = ExecutionResult(data=None, errors=[admitted])
        else:
            executed = await persisted.execute(admitted, context, root_value, _POST_OPERATIONS)
            if executed is None:
                token = _admitted.set(admitted)
                try:
                    return await super().respond(request)
                finally:
                    _admitted.reset(token)
            result = executed
        response_data = await self.process_result(request=request, result=result)
        if result.errors:
            self._handle_errors(result.errors, response_data)
        return self.create_response(response_data=response_data, sub_response=sub_response)

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
        admitted = _admitted.get()
        if admitted is None:
            refused_or_admitted = await self.edge.admit(request, context, request_data)
            if isinstance(refused_or_admitted, GraphQLError):
                return ExecutionResult(data=None, errors=[refused_or_admitted])
            admitted = refused_or_admitted
            if self.persisted is not None and is_persisted(admitted):
                allowed = OperationType.from_http(request_adapter.method)
                if not self.allow_queries_via_get and request_adapter.method == "GET":
                    allowed = allowed - {OperationType.QUERY}
                result = await self.persisted.execute(admitted, context, root_value, allowed)
                if result is not None:
                    return result
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, admitted
        )
