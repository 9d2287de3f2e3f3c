"""graphql-core's executor, with a short way through plain leaf fields.

Most fields of a read are leaves that only read an attribute: an account number, a date, an amount, an
enum. For each of them graphql-core builds a resolve-info object (Strawberry's, with sixteen members),
reads the arguments, calls the resolver through two wrappers and walks ``complete_value``'s type checks,
and those steps cost most of a dashboard's CPU, more than its SQL. Strawberry marks a field without a
resolver, permission or field extension (``StrawberryField.is_basic_field``) with a resolver that never
looks at the info. Such a field, without arguments, of a scalar or enum type, and without middleware, is
completed here directly: read the attribute, coerce it for output. Anything else, and any value that is
not simply completed (``None`` where null is not allowed, an exception, an awaitable, a value the scalar
refuses), goes the standard way, which reads the attribute again and reports the error exactly as
graphql-core would, with its path. Reading an attribute twice is safe: a basic field has no resolver.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_NOT_SIMPLE = object()


class LeafShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self._shortcut = middleware is None or not middleware.middlewares
        self._leaves = _plain_leaves(self.schema)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        value = self._plain_leaf(parent_type, source, field_details_list)
        if value is not _NOT_SIMPLE:
            return value
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _plain_leaf(
        self, parent_type: GraphQLObjectType, source: Any, field_details_list: FieldDetailsList
    ) -> Any:
        """The completed value of a plain leaf field, or ``_NOT_SIMPLE`` to take the standard way."""
        node = field_details_list[0].node
        if node.arguments or not self._shortcut:
            return _NOT_SIMPLE
        leaves = self._leaves
        key = (parent_type.name, node.name.value)
        if key in leaves:
            leaf = leaves[key]
        else:
            leaf = leaves[key] = _leaf_of(self.schema.get_field(parent_type, node.name.value))
        if leaf is None:
            return _NOT_SIMPLE
        resolve, leaf_type, nullable = leaf
        try:
            result = resolve(source, None)  # a basic field never reads the info
            if result is None:
                return None if nullable else _NOT_SIMPLE
            if isinstance(result, Exception):
                return _NOT_SIMPLE
            if self.is_awaitable(result):
                if inspect.iscoroutine(result):
                    result.close()  # the standard way calls the resolver again and awaits that
                return _NOT_SIMPLE
            coerced = leaf_type.coerce_output_value(result)
        except Exception:
            return _NOT_SIMPLE
        return _NOT_SIMPLE if coerced is None or coerced is Undefined else coerced


PlainLeaf = tuple[Callable[[Any, Any], Any], GraphQLScalarType | GraphQLEnumType, bool]
"""A plain leaf field's resolver, its scalar or enum type, and whether it may be null."""


def _plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], PlainLeaf | None]:
    """Per schema: (type name, field name) → the field as a plain leaf, or None when it is not one."""
    leaves: dict[tuple[str, str], PlainLeaf | None] | None = getattr(schema, _LEAVES_ATTRIBUTE, None)
    if leaves is None:
        leaves = {}
        setattr(schema, _LEAVES_ATTRIBUTE, leaves)
    return leaves


_LEAVES_ATTRIBUTE = "_milesgate_plain_leaves"


def _leaf_of(field_def: GraphQLField | None) -> PlainLeaf | None:
    resolve = field_def.resolve if field_def is not None else None
    if field_def is None or resolve is None or not getattr(resolve, "_is_default", False):
        return None
    field_type = field_def.type
    leaf_type = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if not isinstance(leaf_type, GraphQLScalarType | GraphQLEnumType):
        return None
    return resolve, leaf_type, leaf_type is field_type
