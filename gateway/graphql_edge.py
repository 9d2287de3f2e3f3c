"""The schema extensions and configuration that harden the GraphQL endpoint, built from settings.

In every environment: depth, alias, token, directive, cost and mutation limits, bounded parser and
validation caches, and rate limits, so a document that works in development works in production.
In production also: no introspection, no "Did you mean" suggestions, and errors masked unless they are
ours to show (typed codes, or about the document the client sent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    IgnoreContext,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from tortoise.exceptions import ValidationError as TortoiseValidationError

from gateway.graphql_limits import directive_count_rule, mutation_count_rule, query_cost_rule
from gateway.settings import Settings

Extension = type[SchemaExtension] | Callable[[], SchemaExtension]
MASKED_MESSAGE = "Unexpected error; the request id identifies it in the logs."
ARGUMENT_INVALID_MESSAGE = "An argument is too long or malformed for what it names."
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


def _introspection_field(context: IgnoreContext) -> bool:
    return context.field_name.startswith("__")


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The limit rules, made once per app: the validation cache keys on the rule classes, so a class
    made anew per request (as a per-request ``QueryDepthLimiter`` would) would never hit it."""
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


class HideSuggestions(SchemaExtension):
    """Cut "Did you mean …?" from every error message: field, argument, type and enum suggestions
    name parts of the schema that introspection no longer shows."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            error.message = _SUGGESTION.sub("", error.message)


class ArgumentsOutOfRange(SchemaExtension):
    """An argument the database cannot even look up (longer than the column it is compared with, say)
    names nothing: answer with a coded error instead of letting it pass for a server failure."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        for index, error in enumerate(errors or ()):
            if isinstance(error.original_error, TortoiseValidationError):
                cause = GraphQLError(ARGUMENT_INVALID_MESSAGE, extensions={"code": "ARGUMENT_INVALID"})
                errors[index] = GraphQLError(  # type: ignore[index]
                    ARGUMENT_INVALID_MESSAGE,
                    nodes=error.nodes,
                    path=error.path,
                    original_error=cause,
                    extensions={"code": "ARGUMENT_INVALID"},
                )


def edge_extensions(settings: Settings) -> list[Extension]:
    rules = validation_rules(settings)
    extensions: list[Extension] = [
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: AddValidationRules(rules),
    ]
    if settings.graphql_parser_cache_size:
        extensions.append(lambda: ParserCache(maxsize=settings.graphql_parser_cache_size))
    if settings.graphql_validation_cache_size:
        extensions.append(lambda: ValidationCache(maxsize=settings.graphql_validation_cache_size))
    if settings.is_production:
        extensions += [
            DisableIntrospection,
            lambda: MaskErrors(should_mask_error=is_internal_error, error_message=MASKED_MESSAGE),
            HideSuggestions,
        ]
    # Last in the list, so it leaves the operation first: the error masking then sees its coded error.
    extensions.append(ArgumentsOutOfRange)
    return extensions


def schema_config(settings: Settings) -> StrawberryConfig:
    return StrawberryConfig(disable_field_suggestions=settings.is_production)
