"""The only place that touches Strawberry's or graphql-core's internals, for speed:

- ``execution``: graphql-core's ``ExecutionContext`` subclassed to complete the plain parts of a result
  without the resolver machinery (it reads Strawberry's private ``_is_default`` mark and keeps its plans
  on graphql-core's schema object);
- ``edge``: the edge in one hook, skipping Strawberry's parse, validation and execution stages through
  the execution context (and reading the schema's private graphql-core schema);
- ``view``: the request admitted in Strawberry's ``execute_single``;
- ``persisted``: a persisted document executed through graphql-core's ``execute`` directly, without
  Strawberry's ``Schema.execute`` and its extension runner (the same edge functions called in turn).

``MILESGATE_GRAPHQL_FAST_PATH=off`` leaves all of it out (``gateway/graphql/serving.py``): Strawberry's
stock execution then serves the same schema with ``gateway/graphql/edge.py``'s public-hook extension.
When a Strawberry or graphql-core upgrade breaks something here, that switch is the way back.
"""

from gateway.graphql.engine.edge import FastEdge, core_schema
from gateway.graphql.engine.execution import ShortcutExecutionContext
from gateway.graphql.engine.persisted import PersistedPath
from gateway.graphql.engine.view import FastPathView

__all__ = ["FastEdge", "FastPathView", "PersistedPath", "ShortcutExecutionContext", "core_schema"]
