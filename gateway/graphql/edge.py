"""The one schema extension that hardens the GraphQL endpoint, built from settings.

One edge for every transport: an HTTP request and a ``subscribe`` message on a graphql-transport-ws
connection pass the same ``GraphQLEdge.admit`` (request rate limits, persisted queries, safelist), the same
validation rules and the same error policy (``GraphQLEdge.clean``, applied to each streamed result too).

In every environment: depth, alias, token, directive, cost and mutation limits, request and
sensitive-operation rate limits, persisted queries and the safelist, and operation metrics, so a document
that works in development works in production. In production also: no introspection, no "Did you mean"
suggestions, and errors masked unless they are ours to show (typed codes, or about the document the
client sent).

``EdgeExtension`` does it with Strawberry's public extension hooks only, each stage left to Strawberry:
it is what runs with ``MILESGATE_GRAPHQL_FAST_PATH=off``. The fast path (``gateway/graphql/engine/``)
does the same work in one hook, with a cache of parsed and validated documents, and admits the request
in the view before Strawberry sees it.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from graphql import ASTValidationRule, GraphQLError, GraphQLSchema, GraphQLSyntaxError, specified_rules
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import NoFragmentCyclesRule, NoSchemaIntrospectionCustomRule
from starlette.requests import HTTPConnection, Request
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLRequestData
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext as StrawberryExecutionContext
from strawberry.types import ExecutionResult as StrawberryExecutionResult
from strawberry.types.execution import StreamExecutionResult
from tortoise.exceptions import ValidationError as TortoiseValidationError

from gateway.graphql.arguments import ArgumentValuesRule, variables_refusal
from gateway.graphql.limits import (
    directive_count_rule,
    expansion_rule,
    mutation_count_rule,
    query_cost_rule,
)
from gateway.graphql.persisted_queries import PersistedQueries, PersistedQueryError
from gateway.metrics import Metrics
from gateway.outages import is_unavailable, mark_unavailable, unavailable_error
from gateway.rate_limits import EdgeRateLimits, client_ip, mark_refused, sensitive_field_counts
from gateway.settings import Settings
from schema.context import Context

MASKED_MESSAGE = "Unexpected error; the request id identifies it in the logs."
ARGUMENT_INVALID_MESSAGE = "An argument is too long or malformed for what it names."
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """The document limits of one GraphQL endpoint: the member schema's (``MILESGATE_GRAPHQL_*``) or the
    operators' (``MILESGATE_ADMIN_GRAPHQL_*``)."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_directives: int
    max_cost: int
    max_page_size: int
    max_mutations: int
    max_selections: int
    max_body_bytes: int

    @classmethod
    def member(cls, settings: Settings) -> EdgeLimits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_directives=settings.graphql_max_directives,
            max_cost=settings.graphql_max_cost,
            max_page_size=settings.graphql_max_page_size,
            max_mutations=settings.graphql_max_mutations,
            max_selections=settings.graphql_max_selections,
            max_body_bytes=settings.graphql_max_body_bytes,
        )

    @classmethod
    def admin(cls, settings: Settings) -> EdgeLimits:
        return cls(
            max_depth=settings.admin_graphql_max_depth,
            max_aliases=settings.admin_graphql_max_aliases,
            max_tokens=settings.admin_graphql_max_tokens,
            max_directives=settings.admin_graphql_max_directives,
            max_cost=settings.admin_graphql_max_cost,
            max_page_size=settings.admin_graphql_max_page_size,
            max_mutations=settings.admin_graphql_max_mutations,
            max_selections=settings.admin_graphql_max_selections,
            max_body_bytes=settings.admin_graphql_max_body_bytes,
        )


def _limits(given: Settings | EdgeLimits) -> EdgeLimits:
    return given if isinstance(given, EdgeLimits) else EdgeLimits.member(given)


def validation_rules(limits: Settings | EdgeLimits) -> list[type[ASTValidationRule]]:
    """The limit rules, made once per app (the rule classes are built from the limits; settings stand
    for the member schema's)."""
    limits = _limits(limits)
    return [
        expansion_rule(
            max_selections=limits.max_selections,
            max_depth=limits.max_depth,
            max_aliases=limits.max_aliases,
        ),
        query_cost_rule(max_cost=limits.max_cost, variable_page_size=limits.max_page_size),
        directive_count_rule(max_directives=limits.max_directives),
        mutation_count_rule(max_mutations=limits.max_mutations),
        ArgumentValuesRule,
    ]


def document_rules(limits: Settings | EdgeLimits) -> list[type[ASTValidationRule]]:
    """graphql-core's rules and the limits; fragment cycles are the limits' ``expansion_rule``'s to
    report, with a code (graphql-core's own rule says the same without one)."""
    standard = [rule for rule in specified_rules if rule is not NoFragmentCyclesRule]
    return [*standard, *validation_rules(limits)]


def is_internal_error(error: GraphQLError) -> bool:
    """Mask an error unless it is about the client's document or variables (no path, no cause) or one
    we raised on purpose with a code (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, …)."""
    original = error.original_error
    if original is None:
        return error.path is not None
    return not (isinstance(original, GraphQLError) and (original.extensions or {}).get("code"))


def _argument_invalid(error: GraphQLError) -> GraphQLError:
    """An argument the database cannot even look up (longer than the column it is compared with, say)
    names nothing: a coded error instead of one that passes for a server failure."""
    cause = GraphQLError(ARGUMENT_INVALID_MESSAGE, extensions={"code": "ARGUMENT_INVALID"})
    return GraphQLError(
        ARGUMENT_INVALID_MESSAGE,
        nodes=error.nodes,
        path=error.path,
        original_error=cause,
        extensions={"code": "ARGUMENT_INVALID"},
    )


def _too_many_tokens(error: GraphQLSyntaxError, max_tokens: int) -> GraphQLError:
    """The parser's token limit as a coded refusal rather than a syntax error: a client learns which limit
    it met, and graphql-transport-ws answers it as the operation's ``error`` (a syntax error closes the
    whole connection there)."""
    return GraphQLError(
        error.message,
        source=error.source,
        positions=error.positions,
        extensions={"code": "TOO_MANY_TOKENS", "maxTokens": max_tokens},
    )


def _masked(error: GraphQLError) -> GraphQLError:
    return GraphQLError(
        MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
    )


class GraphQLEdge:
    """The limits, rate limits, persisted queries and error policy of one app's GraphQL endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: Metrics,
        rate_limits: EdgeRateLimits,
        persisted_queries: PersistedQueries,
        limits: EdgeLimits | None = None,
    ) -> None:
        """``limits``: the endpoint's document limits; default the member schema's."""
        limits = limits or EdgeLimits.member(settings)
        self.production = settings.is_production
        self.metrics = metrics
        self.rate_limits = rate_limits
        self.persisted_queries = persisted_queries
        self.max_tokens = limits.max_tokens
        self.token_limit_message = (  # graphql-core's words when its parser stops at max_tokens
            f"Syntax Error: Document contains more than {self.max_tokens} tokens. Parsing aborted."
        )
        self.document_cache_size = settings.graphql_document_cache_size
        self.unavailable_retry_after_s = settings.unavailable_retry_after_s
        rules = document_rules(limits)
        if self.production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.schema: GraphQLSchema | None = None
        """The served graphql-core schema (``bind_schema``): variables are checked along its types."""

    def bind_schema(self, schema: GraphQLSchema) -> None:
        self.schema = schema

    async def admit(
        self, request: HTTPConnection, context: Context, data: GraphQLRequestData
    ) -> GraphQLRequestData | GraphQLError:
        """Count a request against the IP and member limits and resolve its persisted query (and so the
        safelist): the request to run, or the error to answer with instead.

        The one door of every transport: an HTTP request (``connection`` a ``Request``) and a
        graphql-transport-ws ``subscribe`` message (``connection`` the ``WebSocket``) alike."""
        ports = context.backends
        account_id = context.principal.account_id if context.principal is not None else None
        refusal = await self.rate_limits.admit_request(ports.rate_limiter, client_ip(request), account_id)
        if refusal is not None:
            mark_refused(context, refusal)
            return refusal
        try:
            return await self.persisted_queries.resolve(data, ports.cache)
        except PersistedQueryError as error:
            return error

    def refuse_arguments(self, context: StrawberryExecutionContext) -> bool:
        """Refuse a variable no field can use (``gateway.graphql.arguments``) before anything executes: set
        the refusal as the operation's result and say so."""
        document = context.graphql_document
        if self.schema is None or document is None or not context.variables:
            return False
        refusal = variables_refusal(self.schema, document, context.operation_name, context.variables)
        if refusal is None:
            return False
        context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        return True

    async def refuse_sensitive(self, context: StrawberryExecutionContext, counts: Counter[str]) -> bool:
        """Count the operation's sensitive fields against their limits; on a refusal set it as the
        operation's result (Strawberry then does not execute it) and say so."""
        if not counts:
            return False
        refusal = await self.rate_limits.admit_operation(context.context, counts)
        if refusal is None:
            return False
        context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        mark_refused(context.context, refusal)
        return True

    def code_refusal(self, error: GraphQLError) -> None:
        """Give a refusal of the document (no path, no cause) that has no code one by its kind: the token
        limit (``TOO_MANY_TOKENS``), another syntax error (``GRAPHQL_PARSE_FAILED``) or graphql-core's
        validation or variables (``GRAPHQL_VALIDATION_FAILED``); the edge's own rules set theirs."""
        extensions = error.extensions or {}
        if extensions.get("code") or error.path is not None or error.original_error is not None:
            return
        if isinstance(error, GraphQLSyntaxError):
            too_long = f"more than {self.max_tokens} tokens" in error.message
            code = "TOO_MANY_TOKENS" if too_long else "GRAPHQL_PARSE_FAILED"
        else:
            code = "GRAPHQL_VALIDATION_FAILED"
        error.extensions = {**extensions, "code": code}

    def processed_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed: list[GraphQLError] = []
        for error in errors:
            if isinstance(error, GraphQLSyntaxError) and error.message == self.token_limit_message:
                error = _too_many_tokens(error, self.max_tokens)
            self.code_refusal(error)
            if isinstance(error.original_error, TortoiseValidationError):
                error = _argument_invalid(error)
            elif error.original_error is not None and is_unavailable(error.original_error):
                error = unavailable_error(error, self.unavailable_retry_after_s)
            if self.production:
                if is_internal_error(error):
                    error = _masked(error)
                else:
                    error.message = _SUGGESTION.sub("", error.message)
            processed.append(error)
        return processed

    def clean(self, result: object) -> None:
        """Apply the error policy to a result's errors, in place (an incremental result's first part)."""
        if result is not None and not isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult):
            result = getattr(result, "initial_result", None)
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self.processed_errors(errors)  # type: ignore[union-attr]

    def finish(self, context: StrawberryExecutionContext, started: float) -> None:
        """After the operation: clean its errors and record its metrics."""
        self.clean(context.result)
        mark_unavailable(context.context, context.result, self.unavailable_retry_after_s)
        name = self.metrics.operation_label(context.operation_name)
        try:
            kind = context.operation_type.value
        except RuntimeError:  # the document did not parse: no operation type
            kind = "unknown"
        result = context.result
        outcome = "error" if result is None or getattr(result, "errors", None) else "ok"
        self.metrics.observe_operation(name, kind, outcome, time.perf_counter() - started)


class EdgeExtension(SchemaExtension):
    """The edge on Strawberry's public hooks, Strawberry parsing, validating and executing as it does.

    Around the operation: Strawberry's parser is told the token limit and its validation the edge's rules
    (as its ``MaxTokensLimiter`` and ``AddValidationRules`` do); an HTTP request is counted against the
    request limits and its persisted query resolved into the query text (a refusal is raised, and
    Strawberry answers it as the operation's error; a WebSocket's ``subscribe`` message was admitted by
    the view's ``EdgeTransportWSHandler``); afterwards the errors are cleaned and the metrics
    recorded. Before execution, a valid operation's sensitive fields count against their limits, and a
    refusal is set as the result (Strawberry's documented way to reject an operation)."""

    def __init__(self, edge: GraphQLEdge) -> None:
        self.edge = edge

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        context = self.execution_context
        context.parse_options = {**context.parse_options, "max_tokens": self.edge.max_tokens}
        context.validation_rules = self.edge.rules
        request = getattr(context.context, "request", None)
        if isinstance(context.context, Context) and isinstance(request, Request):
            data = GraphQLRequestData(
                query=context.query,
                variables=context.variables,
                operation_name=None,
                extensions=context.operation_extensions,
            )
            admitted = await self.edge.admit(request, context.context, data)
            if isinstance(admitted, GraphQLError):
                raise admitted
            context.query = admitted.query
        yield
        self.edge.finish(context, started)

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if not self.edge.refuse_arguments(context):
            await self.edge.refuse_sensitive(
                context, sensitive_field_counts(context.graphql_document, context.operation_name)
            )
        yield

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """Each result a WebSocket sends is cleaned before it goes (the operation ends after them)."""
        self.edge.clean(result)
        yield


def schema_config(settings: Settings) -> StrawberryConfig:
    return StrawberryConfig(disable_field_suggestions=settings.is_production)
