"""Persisted documents executed without Strawberry's ``Schema.execute``: the engine's persisted path.

A request naming its document by a persisted-query hash (an APQ hash or a safelisted document's id) asks
for a text the client cannot vary, so everything that depends on the text alone is worked out once per
document: parsed and validated through the edge's cache (``FastEdge``), the operation picked and its
sensitive fields counted. Per request what is left is what depends on the request, done by the same
functions the Strawberry path calls:

- the request was authenticated (the token and the session-revocation check) when the view built its
  context, and admitted by the edge (request rate limits, persisted query, safelist) before this runs;
- variables the schema cannot use are refused (``GraphQLEdge.refuse_arguments``) and the sensitive
  fields counted against their rate limits (``GraphQLEdge.refuse_sensitive``);
- the operation runs through graphql-core's ``execute`` with the engine's executor, inside the read
  replica's routing when the app has one (``ReplicaPolicy.routing``);
- its errors are logged by Strawberry's ``process_errors`` and cleaned, and its metrics recorded, by
  ``GraphQLEdge.finish``, as the edge's extension does.

Anything this path does not take (a document that does not parse or validate, a missing or ambiguous
operation, an operation type the HTTP method does not allow, a subscription) is handed back, and
Strawberry's own execution answers it with its own errors: only valid queries and mutations come here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeGuard, cast

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationDefinitionNode, execute
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.graphql.engine.edge import FastEdge, PreparedDocument, core_schema
from gateway.graphql.engine.execution import RootField, ShortcutExecutionContext
from gateway.graphql.replica import ReplicaPolicy

_IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)
"""Strawberry's cheaper check, as its execution passes it to graphql-core."""
_RUNS_HERE = frozenset({OperationType.QUERY, OperationType.MUTATION})


def is_persisted(data: GraphQLRequestData) -> bool:
    """Whether the request names its document by a persisted-query hash."""
    extensions = data.extensions
    return isinstance(extensions, dict) and extensions.get("persistedQuery") is not None


class PersistedPath:
    """One app's persisted-document execution: its schema, edge cache and read-replica policy."""

    def __init__(self, schema: Schema, fast: FastEdge, replica: ReplicaPolicy | None) -> None:
        self.schema = schema
        self.core = core_schema(schema)
        self.fast = fast
        self.edge = fast.edge
        self.replica = replica

    def _operation(self, data: GraphQLRequestData) -> tuple[PreparedDocument, OperationDefinitionNode] | None:
        """The document's valid operation, or None for what Strawberry's execution has to answer."""
        if data.query is None:
            return None
        try:
            prepared = self.fast.prepare(data.query)
        except GraphQLError:
            return None
        if self.fast.validation_errors(prepared, self.core):
            return None
        operation = prepared.operation(data.operation_name)
        return None if operation is None else (prepared, operation)

    async def execute(
        self,
        data: GraphQLRequestData,
        context: Any,
        root_value: Any,
        allowed: Collection[OperationType],
    ) -> ExecutionResult | None:
        """The admitted request's result, or None to leave it to Strawberry's ``Schema.execute``."""
        found = self._operation(data)
        if found is None:
            return None
        prepared, operation = found
        kind = OperationType(operation.operation.value)
        if kind not in _RUNS_HERE or kind not in allowed:
            return None
        started = time.perf_counter()
        execution = ExecutionContext(
            query=data.query,
            schema=self.schema,
            allowed_operations=allowed,
            context=context,
            root_value=root_value,
            variables=data.variables,
            provided_operation_name=data.operation_name,
            graphql_document=prepared.document,
            operation_extensions=data.extensions,
        )
        execution.validation_rules = self.edge.rules
        execution.pre_execution_errors = []
        refused = self.edge.refuse_arguments(execution) or await self.edge.refuse_sensitive(
            execution, prepared.sensitive(data.operation_name)
        )
        if refused:
            assert execution.result is not None
            result = ExecutionResult(data=execution.result.data, errors=execution.result.errors)
        elif self.replica is None:
            result = await self._execute(execution, prepared)
        else:
            async with self.replica.routing(context, kind):
                result = await self._execute(execution, prepared)
        if result.errors:
            # Logged before the edge cleans them, as Strawberry's execution does (a masked error's
            # original is in the log).
            execution.pre_execution_errors = result.errors
            self.schema._process_errors(result.errors, execution)
        execution.result = result
        self.edge.finish(execution, started)
        return result

    async def _execute(self, execution: ExecutionContext, prepared: PreparedDocument) -> ExecutionResult:
        assert execution.graphql_document is not None
        try:
            root = self._root(execution, prepared)
            if root is not None:
                executor, root_field = root
                return _strawberry_result(await executor.execute_root(root_field))
            outcome = execute(
                self.core,
                execution.graphql_document,
                root_value=execution.root_value,
                context_value=execution.context,
                variable_values=execution.variables,
                operation_name=execution.operation_name,
                is_awaitable=_IS_AWAITABLE,
                executor_class=ShortcutExecutionContext,
                operation_extensions=execution.operation_extensions,
            )
            result = outcome if isinstance(outcome, GraphQLExecutionResult) else await outcome
        except Exception as exc:  # as Strawberry's execute: the request's error, not a 500
            error = exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            return ExecutionResult(data=None, errors=[error])
        return _strawberry_result(result)

    def _root(
        self, execution: ExecutionContext, prepared: PreparedDocument
    ) -> tuple[ShortcutExecutionContext, RootField] | None:
        """The executor and root field for ``execute_root`` when the operation's root allows it
        (``ShortcutExecutionContext.root_field``, worked out at the document's first request), else None:
        graphql-core's ``execute`` runs the operation."""
        name = execution.operation_name
        known = prepared.roots.get(name, _UNKNOWN)
        if known is None:
            return None
        assert execution.graphql_document is not None
        executor = ShortcutExecutionContext.build(
            self.core,
            execution.graphql_document,
            execution.root_value,
            execution.context,
            execution.variables,
            name,
            is_awaitable=_IS_AWAITABLE,
            operation_extensions=execution.operation_extensions,
        )
        if not isinstance(executor, ShortcutExecutionContext):
            return None  # graphql-core's execute reports what is wrong with the request
        if known is _UNKNOWN:
            try:
                known = executor.root_field(self.schema)
            except Exception:  # e.g. a selection too deep to walk: graphql-core's execute answers it
                known = None
            prepared.roots[name] = known
            if known is None:
                return None
        return executor, known


_UNKNOWN: Any = object()
"""Not yet worked out for the document (``PreparedDocument.roots`` holds None for "not eligible")."""


def _strawberry_result(result: GraphQLExecutionResult) -> ExecutionResult:
    return ExecutionResult(data=result.data, errors=result.errors)
