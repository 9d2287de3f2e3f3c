"""The edge in one hook, skipping Strawberry's own stages: the fast path's ``EdgeExtension``.

One hook rather than one per concern (Strawberry's ``ParserCache``, ``ValidationCache``,
``MaxTokensLimiter``, ``AddValidationRules``, ``DisableIntrospection``, ``MaskErrors``) and rather than one
per stage (parse, validate, execute): Strawberry builds each extension anew for every request and wraps
each hook of each request in a context manager of its own, which cost a fifth of a cached dashboard's
CPU. And the cache keys on the query text, which is hashed in C, where ``ValidationCache`` hashed the
whole parsed document, node by node, on every request.

What the stages did is done here before Strawberry's own, through the execution context's internals: a
document set on it is not parsed again, errors set on it are the validation's, a result set on it is not
executed. A text the cache refuses (a syntax error, too many tokens) is left to Strawberry's parser, told
the same token limit, which reports the same error.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, validate
from graphql import parse as parse_document
from graphql.utilities import get_operation_ast
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from gateway.graphql.edge import GraphQLEdge
from gateway.rate_limits import sensitive_field_counts


def core_schema(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema Strawberry built (a private attribute of Strawberry's schema)."""
    return schema._schema


class PreparedDocument:
    """A parsed document, its validation errors (computed at its first use) and, per operation, the
    sensitive fields it holds: everything about a query text that does not depend on the request."""

    __slots__ = ("_operations", "_sensitive", "document", "errors", "roots")

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.errors: tuple[GraphQLError, ...] | None = None
        self._sensitive: dict[str | None, Counter[str]] = {}
        self._operations: dict[str | None, OperationDefinitionNode | None] = {}
        self.roots: dict[str | None, Any] = {}
        """Per operation name, what the engine worked out about its root (``PersistedPath``)."""

    def operation(self, operation_name: str | None) -> OperationDefinitionNode | None:
        """graphql-core's choice of the operation to run: None when it is missing, or when the document
        has several and no name picks one. Only the document's own names are kept: a client's made-up
        ones are looked up and forgotten."""
        if operation_name in self._operations:
            return self._operations[operation_name]
        operation = get_operation_ast(self.document, operation_name)
        if operation is not None or operation_name is None:
            self._operations[operation_name] = operation
        return operation

    def sensitive(self, operation_name: str | None) -> Counter[str]:
        counts = self._sensitive.get(operation_name)
        if counts is None:
            counts = self._sensitive[operation_name] = sensitive_field_counts(self.document, operation_name)
        return counts


class FastEdge:
    """One app's edge with its cache of parsed and validated documents."""

    def __init__(self, edge: GraphQLEdge) -> None:
        self.edge = edge
        self.prepare = lru_cache(maxsize=edge.document_cache_size)(self._parse)

    def _parse(self, query: str) -> PreparedDocument:
        """Raises the syntax or token-limit ``GraphQLError``; such texts are not cached."""
        return PreparedDocument(parse_document(query, max_tokens=self.edge.max_tokens))

    def validation_errors(self, prepared: PreparedDocument, schema: GraphQLSchema) -> list[GraphQLError]:
        if prepared.errors is None:
            prepared.errors = tuple(validate(schema, prepared.document, self.edge.rules))
        return list(prepared.errors)

    def extension(self) -> Callable[[], SchemaExtension]:
        """The factory Strawberry calls for each request's extension."""
        return lambda: FastEdgeExtension(self)


class FastEdgeExtension(SchemaExtension):
    """Per request, in the one hook around the operation: before it, parse through the cache, validate
    once per document and count the sensitive fields against their rate limits; after it, clean the
    errors and record the operation's metrics (``GraphQLEdge.finish``); each result a WebSocket sends is
    cleaned before it goes. The request limits and persisted queries were seen to by the view
    (``FastPathView`` over HTTP, ``EdgeTransportWSHandler`` over a WebSocket)."""

    def __init__(self, fast: FastEdge) -> None:
        self.fast = fast

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        await self._prepare()
        yield
        self.fast.edge.finish(self.execution_context, started)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self.fast.edge.clean(result)
        yield

    async def _prepare(self) -> None:
        context = self.execution_context
        edge = self.fast.edge
        context.parse_options = {**context.parse_options, "max_tokens": edge.max_tokens}
        context.validation_rules = edge.rules
        if context.graphql_document is not None:
            prepared = PreparedDocument(context.graphql_document)  # handed over parsed: not cached
        elif context.query:
            try:
                prepared = self.fast.prepare(context.query)
            except GraphQLError:
                return  # Strawberry's parser reports it
            context.graphql_document = prepared.document
        else:
            return  # Strawberry reports the missing query
        errors = self.fast.validation_errors(prepared, core_schema(context.schema))
        context.pre_execution_errors = errors
        if errors or edge.refuse_arguments(context):
            return
        await edge.refuse_sensitive(context, prepared.sensitive(context.operation_name))
