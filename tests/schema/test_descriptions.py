"""Developers learn the programme from GraphiQL: every type, field, argument and enum of ours is described."""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from schema.admin.root import build_admin_schema
from schema.root import build_schema

FOREIGN = {"Query", "Mutation", "Subscription"}  # roots: their fields are checked, their own text is optional


BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}
FEDERATION_PREFIXES = ("_", "link__", "federation__")  # the federation spec's own types (@link's Purpose…)


def _ours(name: str) -> bool:
    return not name.startswith(FEDERATION_PREFIXES) and name not in BUILT_IN_SCALARS


@pytest.mark.parametrize(
    "schema", [build_schema()._schema, build_admin_schema()._schema], ids=["member", "admin"]
)
def test_every_type_and_field_has_a_description(schema: GraphQLSchema) -> None:
    missing: list[str] = []
    for name, graphql_type in schema.type_map.items():
        if not _ours(name) or name.startswith("__"):
            continue
        # Unions need no text of their own: they name their members.
        kinds = (GraphQLObjectType, GraphQLInputObjectType, GraphQLEnumType, GraphQLInterfaceType)
        if isinstance(graphql_type, kinds) and not graphql_type.description and name not in FOREIGN:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInputObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if field_name.startswith("_"):
                    continue
                if not field.description:
                    missing.append(f"{name}.{field_name}")
    assert missing == []
