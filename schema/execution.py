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
from typing import Any

from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, Undefined
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_NOT_SIMPLE = object()


class LeafShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
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
        if node.arguments or (self.middleware_manager is not None and self.middleware_manager.middlewares):
            return _NOT_SIMPLE
        field_def = self.schema.get_field(parent_type, node.name.value)
        resolve = field_def.resolve if field_def is not None else None
        if resolve is None or not getattr(resolve, "_is_default", False):
            return _NOT_SIMPLE
        assert field_def is not None
        field_type = field_def.type
        leaf_type = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if not isinstance(leaf_type, GraphQLScalarType | GraphQLEnumType):
            return _NOT_SIMPLE
        try:
            result = resolve(source, None)  # a basic field never reads the info
            if result is None:
                return None if leaf_type is field_type else _NOT_SIMPLE
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
