"""A member can never read another member's data.

The schema has no ``node(id:)`` lookup: every member's data is reached from a root field. So the schema is
walked and every root field classified (a new root field fails here until it is); fields that reach
member data must be OWN (the signed-in member's, by the token), CREDENTIALS (the member the credentials
in the request prove) or ROUTER (the federation router's ``_service`` and ``_entities``; their entities
resolve for the forwarded token's member only, tests/schema/test_federation.py). Then each OWN and ROUTER
field is called without a token and must refuse, and the fields that take another object's id are called
with a second member's ids. Operator fields are not in this schema at all: every root field of the
operators' schema (``/admin/graphql``) is OPERATOR, and refuses a request without an operator token.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)
from httpx2 import AsyncClient

from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.rules import current_rules
from schema.admin.root import build_admin_schema
from schema.root import build_schema
from tests.factories import admin_gql, enrolled_member, gql


class Access(Enum):
    PUBLIC = "no member data"
    OWN = "the signed-in member's data only"
    CREDENTIALS = "the member proven by credentials in the request"
    OPERATOR = "operators only"
    ROUTER = "the federation router (shared secret) or an operator; entities: the forwarded member's own"


OWN, PUBLIC, CREDENTIALS, OPERATOR = Access.OWN, Access.PUBLIC, Access.CREDENTIALS, Access.OPERATOR
ROUTER = Access.ROUTER
ROOT_FIELDS: dict[str, Access] = {
    "Query.me": OWN,
    "Query.rewards": PUBLIC,
    "Query.securityNotices": PUBLIC,
    "Query.milesCalculator": PUBLIC,
    "Query.upgradeQuote": PUBLIC,
    "Query.boardingPass": PUBLIC,
    "Query._service": ROUTER,
    "Query._entities": ROUTER,
    "Query.photoCreditPartners": PUBLIC,
    "Subscription.myBalances": OWN,
    "Subscription.myStatus": OWN,
    "Mutation.enrolMember": PUBLIC,  # the same answer for every address, no member data
    "Mutation.confirmEnrolment": CREDENTIALS,  # the code e-mailed to the address
    "Mutation.signIn": CREDENTIALS,
    "Mutation.completeSignIn": CREDENTIALS,
    "Mutation.completeSecondFactor": CREDENTIALS,
    "Mutation.sendSignInSmsCode": CREDENTIALS,  # the challenge proves the first factor
    "Mutation.refreshSession": CREDENTIALS,
    "Mutation.signOut": CREDENTIALS,
    "Mutation.requestPinReset": PUBLIC,
    "Mutation.requestPasswordReset": PUBLIC,
    "Mutation.completePinReset": PUBLIC,
    "Mutation.completePasswordReset": PUBLIC,
    "Mutation.remindUserId": PUBLIC,
    "Mutation.reportLostServiceCardNumber": PUBLIC,
    "Mutation.beginTwoFactor": OWN,
    "Mutation.confirmTwoFactor": OWN,
    "Mutation.beginSmsTwoFactor": OWN,
    "Mutation.confirmSmsTwoFactor": OWN,
    "Mutation.sendDisableSmsTwoFactorCode": OWN,
    "Mutation.disableSmsTwoFactor": OWN,
    "Mutation.revokeTrustedDevice": OWN,
    "Mutation.disableTwoFactor": OWN,
    "Mutation.updateProfile": OWN,
    "Mutation.requestEmailVerification": OWN,
    "Mutation.confirmEmailVerification": OWN,
    "Mutation.changePin": OWN,
    "Mutation.changePassword": OWN,
    "Mutation.reportCardLost": OWN,
    "Mutation.setAdvertisingConsent": OWN,
    "Mutation.redeem": OWN,
    "Mutation.exchangeMilesForStatus": OWN,
    "Mutation.cancelRedemption": OWN,
    "Mutation.setRewardGoal": OWN,
    "Mutation.setConsent": OWN,
    "Mutation.exportMyData": OWN,
    "Mutation.joinChallenge": OWN,
    "Mutation.enterQuiz": OWN,
    "Mutation.activateOffer": OWN,
    "Mutation.inviteToPool": OWN,
    "Mutation.acceptPoolInvitation": OWN,
    "Mutation.declinePoolInvitation": OWN,
    "Mutation.leavePool": OWN,
    "Mutation.removeFromPool": OWN,
    "Mutation.redeemFromPool": OWN,
    "Mutation.signOutEverywhere": OWN,
    "Mutation.requestRetroCredit": OWN,
    "Mutation.requestRetroCreditByBoardingPass": OWN,
    "Mutation.searchAwardFlights": OWN,
    "Mutation.bookAwardFlight": OWN,
    "Mutation.cancelAwardBooking": OWN,
    "Mutation.setMilesPay": OWN,
}
CATALOGUE = {"Reward", "Offer", "Challenge", "Quiz", "PageInfo", "InputError", "_Service"}
"""Types reachable from Member that hold programme data, the same for every member."""


def _schema() -> GraphQLSchema:
    return build_schema()._schema


def _admin_schema() -> GraphQLSchema:
    return build_admin_schema()._schema


def _reachable(start: GraphQLNamedType) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        named = todo.pop()
        if named.name in seen or named.name.startswith("__"):
            continue
        seen.add(named.name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            todo.extend(get_named_type(field.type) for field in named.fields.values())
        elif isinstance(named, GraphQLUnionType):
            todo.extend(named.types)
    return seen


def _root_fields(schema: GraphQLSchema) -> dict[str, GraphQLField]:
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return {f"{root.name}.{name}": field for root in roots if root for name, field in root.fields.items()}


def _member_types(schema: GraphQLSchema) -> set[str]:
    member = schema.get_type("Member")
    assert isinstance(member, GraphQLObjectType)
    return {
        name for name in _reachable(member) if isinstance(schema.get_type(name), GraphQLObjectType)
    } - CATALOGUE


def test_every_root_field_is_classified() -> None:
    assert set(_root_fields(_schema())) == set(ROOT_FIELDS)


def test_no_public_root_field_reaches_member_data() -> None:
    schema = _schema()
    member_types = _member_types(schema)
    assert {"Member", "ServiceCard", "Balances", "StatementEntry", "Redemption", "Pool"} <= member_types
    leaks = {
        name: sorted(_reachable(get_named_type(field.type)) & member_types)
        for name, field in _root_fields(schema).items()
        if ROOT_FIELDS[name] is PUBLIC and _reachable(get_named_type(field.type)) & member_types
    }
    assert leaks == {}


def _literal(kind: GraphQLInputType) -> str:
    """A value of the type: enough to get past validation to the resolver's check."""
    if isinstance(kind, GraphQLNonNull):
        return _literal(kind.of_type)
    if isinstance(kind, GraphQLList):
        return "[]"
    if isinstance(kind, GraphQLEnumType):
        return str(next(iter(kind.values)))
    if isinstance(kind, GraphQLInputObjectType):
        required = [
            f"{name}: {_literal(field.type)}"
            for name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        ]
        return "{" + ", ".join(required) + "}"
    return {
        "Int": "1",
        "Float": "1.0",
        "Boolean": "false",
        "Date": '"1990-01-01"',
        "DateTime": '"2026-01-01T00:00:00Z"',
    }.get(kind.name, '"1"')


def _document(name: str, field: GraphQLField) -> str:
    root, field_name = name.split(".")
    arguments = ", ".join(
        f"{arg}: {_literal(definition.type)}"
        for arg, definition in field.args.items()
        if isinstance(definition.type, GraphQLNonNull)
    )
    call = f"{field_name}({arguments})" if arguments else field_name
    composite = isinstance(
        get_named_type(field.type), GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
    )
    selection = " { __typename }" if composite else ""
    return f"{root.lower()} {{ {call}{selection} }}"


GUARDED = sorted(name for name, access in ROOT_FIELDS.items() if access in (OWN, OPERATOR, ROUTER))


@pytest.mark.parametrize("name", [name for name in GUARDED if not name.startswith("Subscription.")])
async def test_guarded_fields_refuse_a_request_without_a_token(client: AsyncClient, name: str) -> None:
    field = _root_fields(_schema())[name]
    body = await gql(client, _document(name, field))
    expected = "FORBIDDEN" if ROOT_FIELDS[name] in (OPERATOR, ROUTER) else "UNAUTHENTICATED"
    assert [error["extensions"]["code"] for error in body.get("errors", [])] == [expected], body
    assert (body.get("data") or {}).get(name.split(".")[1]) is None


ADMIN_ROOT_FIELDS = sorted(_root_fields(_admin_schema()))


def test_the_admin_schema_holds_the_operator_fields_only() -> None:
    assert "Query.partners" in ADMIN_ROOT_FIELDS and "Mutation.reprocessInbox" in ADMIN_ROOT_FIELDS
    assert not set(ADMIN_ROOT_FIELDS) & set(ROOT_FIELDS) - {"Query.__typename"}
    assert OPERATOR not in ROOT_FIELDS.values()


@pytest.mark.parametrize("name", ADMIN_ROOT_FIELDS)
async def test_admin_fields_refuse_a_request_without_an_operator_token(
    client: AsyncClient, name: str
) -> None:
    field = _root_fields(_admin_schema())[name]
    member = await enrolled_member(client, email="member@example.com")
    for token in (None, member["accessToken"]):
        body = await admin_gql(client, _document(name, field), token=token)
        assert [error["extensions"]["code"] for error in body.get("errors", [])] == ["FORBIDDEN"], body
        assert (body.get("data") or {}).get(name.split(".")[1]) is None


async def _with_miles(client: AsyncClient, email: str, miles: int) -> dict[str, Any]:
    enrolled = await enrolled_member(client, email=email)
    member = await Member.get(account_number=enrolled["accountNumber"])
    await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"seed-{member.id}",
        activity_date=dt.date.today() - dt.timedelta(days=30),
        rule_version="test",
        rules=current_rules(),
    )
    return enrolled


REDEEM = """
mutation R($code: String!, $req: String!) {
  redeem(rewardCode: $code, requestId: $req) { __typename ... on Redeemed { redemption { id } } }
}
"""
MINE = "{ me { accountNumber balances { awardMiles } redemptions { id state } } }"


async def test_a_member_reads_and_changes_only_their_own_data(client: AsyncClient) -> None:
    alice = await _with_miles(client, "alice@example.com", 20_000)
    bob = await _with_miles(client, "bob@example.com", 20_000)
    catalogue = (await gql(client, "{ rewards { code miles } }"))["data"]["rewards"]
    cheapest = min(catalogue, key=lambda reward: reward["miles"])["code"]
    redeemed = await gql(client, REDEEM, {"code": cheapest, "req": "a-1"}, token=alice["accessToken"])
    alice_redemption = redeemed["data"]["redeem"]["redemption"]["id"]

    bob_sees = (await gql(client, MINE, token=bob["accessToken"]))["data"]["me"]
    assert bob_sees["accountNumber"] == bob["accountNumber"]
    assert bob_sees["redemptions"] == [] and bob_sees["balances"]["awardMiles"] == 20_000

    cancel = "mutation C($id: ID!) { cancelRedemption(id: $id) { __typename } }"
    refused = await gql(client, cancel, {"id": alice_redemption}, token=bob["accessToken"])
    assert refused["data"]["cancelRedemption"]["__typename"] != "RedemptionCancelled"
    alice_sees = (await gql(client, MINE, token=alice["accessToken"]))["data"]["me"]
    assert [r["state"] for r in alice_sees["redemptions"]] == ["REDEEMED"]
    assert alice_sees["balances"]["awardMiles"] < 20_000


async def test_a_member_cannot_use_another_members_pool_invitation(client: AsyncClient) -> None:
    alice = await enrolled_member(client, email="alice@example.com")
    bob = await enrolled_member(client, email="bob@example.com")
    carol = await enrolled_member(client, email="carol@example.com")
    invite = "mutation I($card: String!) { inviteToPool(serviceCardNumber: $card) { __typename } }"
    invited = await gql(client, invite, {"card": carol["serviceCardNumber"]}, token=alice["accessToken"])
    assert invited["data"]["inviteToPool"]["__typename"] == "PoolUpdated"
    invitations = "{ me { poolInvitations { id } pool { members { id } } } }"
    [invitation] = (await gql(client, invitations, token=carol["accessToken"]))["data"]["me"][
        "poolInvitations"
    ]
    members = (await gql(client, invitations, token=alice["accessToken"]))["data"]["me"]["pool"]["members"]

    attempts = [("acceptPoolInvitation", invitation["id"]), ("declinePoolInvitation", invitation["id"])]
    attempts += [("removeFromPool", member["id"]) for member in members]
    for mutation, target in attempts:
        document = (
            f"mutation X($id: ID!) {{ {mutation}(id: $id) {{ __typename ... on InputError {{ code }} }} }}"
        )
        answer = await gql(client, document, {"id": target}, token=bob["accessToken"])
        assert answer["data"][mutation]["__typename"] == "InputError", (mutation, answer)

    still = (await gql(client, invitations, token=carol["accessToken"]))["data"]["me"]["poolInvitations"]
    assert still == [invitation]
    assert (await gql(client, invitations, token=bob["accessToken"]))["data"]["me"]["pool"] is None
