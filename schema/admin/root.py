"""The operators' schema: the partner registry and the partner webhook hub, served at ``/admin/graphql``
with its own limits. Not a federation subgraph and not part of the member schema: a router composing the
member subgraph never sees these fields. Each domain room keeps its own parts; this module only joins
them. Every field needs an operator token (``IsOperator``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import Executor
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.hub.mutations import HubMutations
from schema.hub.queries import HubQueries
from schema.joining import joined
from schema.partners.mutations import PartnerMutations
from schema.partners.queries import PartnerQueries

AdminQuery = joined(
    "Query",
    "Read the partner registry and the partner webhook hub (operators only).",
    [PartnerQueries, HubQueries],
)
AdminMutation = joined(
    "Mutation",
    "Operate partners and the partner webhook hub (operators only). Expected failures come back as typed "
    "results.",
    [PartnerMutations, HubMutations],
)


def build_admin_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    config: StrawberryConfig | None = None,
    *,
    execution_context_class: type[Executor[Any]] | None = None,
) -> strawberry.Schema:
    """The operators' schema; the gateway passes its engine's executor, as for the member schema."""
    return strawberry.Schema(
        query=AdminQuery,
        mutation=AdminMutation,
        extensions=list(extensions),
        config=config,
        execution_context_class=execution_context_class,
    )
