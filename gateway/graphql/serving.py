"""The schema and view class an app serves GraphQL with: through the engine (the fast path, default) or
with Strawberry's stock execution (``MILESGATE_GRAPHQL_FAST_PATH=off``); the member schema at
``/graphql``, the operators' at ``/admin/graphql``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from graphql import Executor
from strawberry import Schema
from strawberry.extensions import SchemaExtension

from gateway.graphql.edge import EdgeExtension, GraphQLEdge, schema_config
from gateway.graphql.engine import (
    FastEdge,
    FastPathView,
    PersistedPath,
    ShortcutExecutionContext,
    core_schema,
)
from gateway.graphql.replica import ReplicaPolicy, replica_extension
from gateway.graphql.view import GraphQLView
from gateway.settings import Settings
from schema.admin.root import build_admin_schema
from schema.root import build_schema


def execution_context_class(fast_path: bool) -> type[Executor[Any]] | None:
    """The executor: the engine's shortcut, or None for graphql-core's (through Strawberry's) own."""
    return ShortcutExecutionContext if fast_path else None


def served_schema(
    settings: Settings, edge: GraphQLEdge, *, admin: bool = False
) -> tuple[Schema, Callable[..., GraphQLView]]:
    """The schema (the operators' with ``admin``) with the edge's extension (and, for the member schema
    with a replica, the replica's), and the view class to serve it with (through the engine: with the
    persisted-document path bound). The operators' schema reads the primary only: it is small and
    operators read what they just changed."""
    executor = execution_context_class(settings.graphql_fast_path)
    extensions: list[Callable[[], SchemaExtension]] = []
    fast = FastEdge(edge) if settings.graphql_fast_path else None
    if fast is not None:
        extensions.append(fast.extension())
    else:
        extensions.append(lambda: EdgeExtension(edge))
    policy: ReplicaPolicy | None = None
    if admin:
        schema = build_admin_schema(extensions, schema_config(settings), execution_context_class=executor)
    else:
        if settings.resolved_database_replica_url is not None:
            policy = ReplicaPolicy(
                wait_ms=settings.replica_wait_ms, write_memory_s=settings.replica_write_memory_s
            )
            extensions.append(replica_extension(policy))
        schema = build_schema(extensions, schema_config(settings), execution_context_class=executor)
    edge.bind_schema(core_schema(schema))
    if fast is None:
        return schema, GraphQLView
    return schema, functools.partial(FastPathView, persisted=PersistedPath(schema, fast, policy))
