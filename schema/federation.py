"""The Federation 2 subgraph fields, ``_service`` and ``_entities``, closed to everyone but the router.

Strawberry's federation schema adds both fields open to anyone; ``FederationQueries`` defines them itself
(the schema then keeps ours) so they carry ``IsFederationRouter``: the request must come from the
federation router (its shared secret, ``MILESGATE_FEDERATION_ROUTER_SECRET``, in the
``Milesgate-Router-Secret`` header) or carry an operator token. Entity references are then resolved for
the member whose bearer token the router forwards, and for no one else (``resolvers.entities``, and
``resolve_reference`` on ``Member`` and ``ServiceCard``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, cast

import strawberry
from graphql import GraphQLError
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema import Schema as FederationSchema
from strawberry.permission import BasePermission
from strawberry.printer import print_schema

from schema.cards.types import ServiceCard
from schema.context import Info
from schema.members.types import Member

ROUTER_SECRET_HEADER = "milesgate-router-secret"  # noqa: S105 - a header name, not a secret
ENTITY_TYPES = frozenset({"Member", "ServiceCard"})

Entity = Annotated[
    Member | ServiceCard,
    strawberry.union("_Entity", description="What other subgraphs may reference: members and their cards."),
]


class IsFederationRouter(BasePermission):
    """``_service`` and ``_entities`` answer the federation router (shared secret) or an operator only."""

    message = "Only the federation router (or an operator) may ask this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        context = info.context
        return bool(context.federation_router or context.operator is not None)


@strawberry.type(name="_Service", description="The subgraph's schema, for composition by a router.")
class FederationService:
    sdl: str = strawberry.field(description="The schema in SDL, with its federation directives.")


@strawberry.type
class FederationQueries:
    @strawberry.field(
        name="_service",
        description="Federation router only: this subgraph's SDL for composition.",
        permission_classes=[IsFederationRouter],
    )
    def federation_service(self, info: Info) -> FederationService:
        return FederationService(sdl=print_schema(info.schema))

    @strawberry.field(
        name="_entities",
        description="Federation router only: members (key accountNumber) and service cards (key number) "
        "other subgraphs reference, each resolved only for the member whose token the router forwards.",
        permission_classes=[IsFederationRouter],
    )
    def federation_entities(
        self,
        info: Info,
        representations: Annotated[
            list[FederationAny],
            strawberry.argument(description="The references: __typename and the key fields."),
        ],
    ) -> list[Entity | None]:
        """The referenced members and cards, in the order asked; each one null with an error unless it is
        the signed-in member's. Every reference of a type is looked up in one query (a DataLoader)."""
        for representation in representations:
            if not isinstance(representation, dict) or representation.get("__typename") not in ENTITY_TYPES:
                raise GraphQLError(
                    "Each representation is an object with __typename Member or ServiceCard.",
                    extensions={"code": "REPRESENTATION_INVALID"},
                )
        schema = cast(FederationSchema, info.schema)
        resolved: list[Awaitable[Entity] | Exception] = schema.entities_resolver(info, representations)  # type: ignore[assignment]
        return cast(list[Entity | None], resolved)
