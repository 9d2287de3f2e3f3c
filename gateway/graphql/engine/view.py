"""The view's fast path: the request admitted (limits, persisted query) in Strawberry's ``execute_single``,
before Strawberry builds the operation's execution context and extensions, which a refused request
then never costs."""

from __future__ import annotations

from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from gateway.graphql.view import GraphQLView
from schema.context import Context


class FastPathView(GraphQLView):
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
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, admitted
        )
