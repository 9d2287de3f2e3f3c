"""The view's fast path: the request admitted (limits, persisted query) in Strawberry's ``execute_single``,
before Strawberry builds the operation's execution context and extensions, which a refused request
then never costs; a persisted document then runs through the engine's ``PersistedPath`` rather than
Strawberry's ``Schema.execute``."""

from __future__ import annotations

from typing import Any

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


class FastPathView(GraphQLView):
    def __init__(self, *args: Any, persisted: PersistedPath | None = None, **kwargs: Any) -> None:
        """``persisted``: the app's persisted-document path (None: every request through Strawberry)."""
        super().__init__(*args, **kwargs)
        self.persisted = persisted

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
        admitted = await self.edge.admit(request, context, request_data)
        if isinstance(admitted, GraphQLError):
            return ExecutionResult(data=None, errors=[admitted])
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
