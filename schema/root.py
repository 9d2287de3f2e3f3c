"""The root schema: every domain's queries and mutations composed into one Federation 2 subgraph."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.federation import Schema

from resolvers import members as member_resolvers
from schema.context import Info
from schema.members import Balances, EnrolMemberInput, EnrolMemberResult, Member, SignInResult


@strawberry.type(description="Read the programme: the signed-in member, their card and balances.")
class Query:
    @strawberry.field(description="The signed-in member (needs a bearer token).")
    async def me(self, info: Info) -> Member:
        return await member_resolvers.me(info)


@strawberry.type(description="Change the programme's data. Expected failures come back as typed results.")
class Mutation:
    @strawberry.mutation(
        description="Enrol a new member: returns the 9-digit account number, the first 15-digit service card "
        "number and an access token. Base members without advertising consent get a 9999 card, with it 9920."
    )
    async def enrol_member(self, info: Info, input: EnrolMemberInput) -> EnrolMemberResult:
        return await member_resolvers.enrol_member(info, input)

    @strawberry.mutation(description="Sign in with service card number and PIN.")
    async def sign_in_with_pin(self, info: Info, service_card_number: str, pin: str) -> SignInResult:
        return await member_resolvers.sign_in_with_pin(info, service_card_number, pin)


@strawberry.type(
    description="Live updates over WebSocket (graphql-transport-ws); sign in at connection time."
)
class Subscription:
    @strawberry.subscription(
        description="The signed-in member's balances, sent at once and again whenever miles or points post. "
        "Send the access token as connection_init payload {authorization: 'Bearer …'}."
    )
    async def my_balances(self, info: Info) -> AsyncGenerator[Balances, None]:
        async for balances in member_resolvers.my_balances(info):
            yield balances


def build_schema(extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = ()) -> Schema:
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=list(extensions))
