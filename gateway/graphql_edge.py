"""The one schema extension that hardens the GraphQL endpoint, built from settings.

In every environment: depth, alias, token, directive, cost and mutation limits, a bounded cache of
parsed and validated documents, sensitive-operation rate limits and operation metrics, so a document
that works in development works in production. In production also: no introspection, no "Did you mean"
suggestions, and errors masked unless they are ours to show (typed codes, or about the document the
client sent).

One extension rather than one per concern (Strawberry's ``ParserCache``, ``ValidationCache``,
``MaxTokensLimiter``, ``AddValidationRules``, ``DisableIntrospection``, ``MaskErrors``): each extension
is built anew for every request and each hook is a context manager around the request, which cost a
fifth of a cached dashboard's CPU. And the cache keys on the query text, which is hashed in C, where
``ValidationCache`` hashed the whole parsed document, node by node, on every request.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    specified_rules,
    validate,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import parse as parse_document
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import IgnoreContext, MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult as StrawberryExecutionResult
from tortoise.exceptions import ValidationError as TortoiseValidationError

from gateway.graphql_limits import directive_count_rule, mutation_count_rule, query_cost_rule
from gateway.rate_limits import EdgeRateLimits, mark_refused, sensitive_field_counts
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.metrics import Metrics

MASKED_MESSAGE = "Unexpected error; the request id identifies it in the logs."
ARGUMENT_INVALID_MESSAGE = "An argument is too long or malformed for what it names."
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


def _introspection_field(context: IgnoreContext) -> bool:
    return context.field_name.startswith("__")


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The limit rules, made once per app (the rule classes are built from the settings)."""
    depth = QueryDepthLimiter(max_depth=settings.graphql_max_depth, should_ignore=_introspection_field)
    aliases = MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases)
    return [
        *depth.validation_rules,
        *aliases.validation_rules,
        query_cost_rule(
            max_cost=settings.graphql_max_cost, variable_page_size=settings.graphql_max_page_size
        ),
        directive_count_rule(max_directives=settings.graphql_max_directives),
        mutation_count_rule(max_mutations=settings.graphql_max_mutations),
    ]


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


def _masked(error: GraphQLError) -> GraphQLError:
    return GraphQLError(
        MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
    )


class PreparedDocument:
    """A parsed document, its validation errors (computed at its first use) and, per operation, the
    sensitive fields it holds: everything about a query text that does not depend on the request."""

    __slots__ = ("_sensitive", "document", "errors")

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.errors: tuple[GraphQLError, ...] | None = None
        self._sensitive: dict[str | None, Counter[str]] = {}

    def sensitive(self, operation_name: str | None) -> Counter[str]:
        counts = self._sensitive.get(operation_name)
        if counts is None:
            counts = self._sensitive[operation_name] = sensitive_field_counts(self.document, operation_name)
        return counts


class GraphQLEdge:
    """The limits, caches and error policy of one app's GraphQL endpoint."""

    def __init__(self, settings: Settings, *, metrics: Metrics, rate_limits: EdgeRateLimits) -> None:
        self.production = settings.is_production
        self.metrics = metrics
        self.rate_limits = rate_limits
        self.max_tokens = settings.graphql_max_tokens
        rules: list[type[ASTValidationRule]] = [*specified_rules, *validation_rules(settings)]
        if self.production:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.prepare = lru_cache(maxsize=settings.graphql_document_cache_size)(self._parse)

    def _parse(self, query: str) -> PreparedDocument:
        """Raises the syntax or token-limit ``GraphQLError``; such texts are not cached."""
        return PreparedDocument(parse_document(query, max_tokens=self.max_tokens))

    def validation_errors(self, prepared: PreparedDocument, schema: GraphQLSchema) -> list[GraphQLError]:
        if prepared.errors is None:
            prepared.errors = tuple(validate(schema, prepared.document, self.rules))
        return list(prepared.errors)

    def processed_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed: list[GraphQLError] = []
        for error in errors:
            if isinstance(error.original_error, TortoiseValidationError):
                error = _argument_invalid(error)
            if self.production:
                if is_internal_error(error):
                    error = _masked(error)
                else:
                    error.message = _SUGGESTION.sub("", error.message)
            processed.append(error)
        return processed

    def extension(self) -> Callable[[], SchemaExtension]:
        """The factory Strawberry calls for each request's extension."""
        return lambda: EdgeExtension(self)


class EdgeExtension(SchemaExtension):
    """Per request, in the one hook around the operation: before it, parse through the cache, validate
    once per document and count the sensitive fields against their rate limits; after it, clean the
    errors and record the operation's metrics.

    One hook rather than one per stage (parse, validate, execute): Strawberry wraps each hook of each
    request in a context manager of its own, made anew. What the stages did is done here before
    Strawberry's own: a document set on the context is not parsed again, errors set on it are the
    validation's, a result set on it is not executed. A text the cache refuses (a syntax error, too many
    tokens) is left to Strawberry's parser, told the same token limit, which reports the same error."""

    def __init__(self, edge: GraphQLEdge) -> None:
        self.edge = edge

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        await self._prepare()
        yield
        context = self.execution_context
        result = context.result
        if result is not None and not isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult):
            result = getattr(result, "initial_result", None)
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self.edge.processed_errors(errors)  # type: ignore[union-attr]
        self._record(started)

    async def _prepare(self) -> None:
        context = self.execution_context
        context.parse_options = {**context.parse_options, "max_tokens": self.edge.max_tokens}
        context.validation_rules = self.edge.rules
        if context.graphql_document is not None:
            prepared = PreparedDocument(context.graphql_document)  # handed over parsed: not cached
        elif context.query:
            try:
                prepared = self.edge.prepare(context.query)
            except GraphQLError:
                return  # Strawberry's parser reports it
            context.graphql_document = prepared.document
        else:
            return  # Strawberry reports the missing query
        errors = self.edge.validation_errors(prepared, context.schema._schema)
        context.pre_execution_errors = errors
        if errors:
            return
        counts = prepared.sensitive(context.operation_name)
        if counts:
            refusal = await self.edge.rate_limits.admit_operation(context.context, counts)
            if refusal is not None:
                context.result = GraphQLExecutionResult(data=None, errors=[refusal])
                mark_refused(context.context, refusal)

    def _record(self, started: float) -> None:
        context = self.execution_context
        metrics = self.edge.metrics
        name = metrics.operation_label(context.operation_name)
        try:
            kind = context.operation_type.value
        except RuntimeError:  # the document did not parse: no operation type
            kind = "unknown"
        result = context.result
        outcome = "error" if result is None or getattr(result, "errors", None) else "ok"
        metrics.observe_operation(name, kind, outcome, time.perf_counter() - started)


def schema_config(settings: Settings) -> StrawberryConfig:
    return StrawberryConfig(disable_field_suggestions=settings.is_production)
