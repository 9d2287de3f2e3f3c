"""The schema and view class an app serves GraphQL with: through the engine (the fast path, default) or
with Strawberry's stock execution (``MILESGATE_GRAPHQL_FAST_PATH=off``); the member schema at
``/graphql``, the operators' at ``/admin/graphql``."""

from __future__ import annotations

from typing import Any

from graphql import Executor
from strawberry import Schema

from gateway.graphql.edge import EdgeExtension, GraphQLEdge, schema_config
from gateway.graphql.engine import FastEdge, FastPathView, ShortcutExecutionContext, core_schema
from gateway.graphql.view import GraphQLView
from gateway.settings import Settings
from schema.admin.root import build_admin_schema
from schema.root import build_schema


def execution_context_class(fast_path: bool) -> type[Executor[Any]] | None:
    """The executor: the engine's shortcut, or None for graphql-core's (through Strawberry's) own."""
    return ShortcutExecutionContext if fast_path else None


def served_schema(
    settings: Settings, edge: GraphQLEdge, *, admin: bool = False
) -> tuple[Schema, type[GraphQLView]]:
    """The schema (the operators' with ``admin``) with the edge's extension, and the view class to serve
    it with."""
    executor = execution_context_class(settings.graphql_fast_path)
    if settings.graphql_fast_path:
        extension = FastEdge(edge).extension()
        view_class: type[GraphQLView] = FastPathView
    else:
        extension = lambda: EdgeExtension(edge)  # noqa: E731 - Strawberry calls it once per request
        view_class = GraphQLView
    build = build_admin_schema if admin else build_schema
    schema = build([extension], schema_config(settings), execution_context_class=executor)
    edge.bind_schema(core_schema(schema))
    return schema, view_class
