"""Redeeming a reward through the real schema: step-up, atomic debit, cancellation, goal progress."""

from __future__ import annotations

import datetime as dt

from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.rules import current_rules
from tests.factories import enrolled_member, gql, identified_token

REDEEM = """
mutation R($code: String!, $req: String!) {
  redeem(rewardCode: $code, requestId: $req) {
    __typename
    ... on Redeemed { redemption { id miles } }
    ... on InsufficientMiles { missing }
  }
}
"""
CANCEL = "mutation C($id: ID!) { cancelRedemption(id: $id) { __typename } }"
PROFILE = "{ me { balances { awardMiles } redemptions { state } rewardGoal { missing } } }"


async def _member_with_miles(client: AsyncClient, miles: int) -> dict[str, str]:
    enrolled = await enrolled_member(client)
    member = await Member.get(account_number=enrolled["accountNumber"])
    await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"seed-{member.id}",
        activity_date=dt.date(2026, 10, 1),
        rule_version="test",
        rules=current_rules(),
    )
    return enrolled


async def test_redeem_cancel_and_goal(client: AsyncClient) -> None:
    enrolled = await _member_with_miles(client, 5_000)
    token = enrolled["accessToken"]
    catalogue = (await gql(client, "{ rewards { code miles } }"))["data"]["rewards"]
    cheapest = min(catalogue, key=lambda reward: reward["miles"])
    priciest = max(catalogue, key=lambda reward: reward["miles"])

    done = (await gql(client, REDEEM, {"code": cheapest["code"], "req": "r-1"}, token=token))["data"][
        "redeem"
    ]
    again = (await gql(client, REDEEM, {"code": cheapest["code"], "req": "r-1"}, token=token))["data"][
        "redeem"
    ]
    assert done["__typename"] == "Redeemed" and again == done  # a retried request redeems once
    short = (await gql(client, REDEEM, {"code": priciest["code"], "req": "r-2"}, token=token))["data"][
        "redeem"
    ]
    assert short["__typename"] == "InsufficientMiles" and short["missing"] > 0

    me = (await gql(client, PROFILE, token=token))["data"]["me"]
    assert me["balances"]["awardMiles"] == 5_000 - cheapest["miles"]
    cancelled = await gql(client, CANCEL, {"id": done["redemption"]["id"]}, token=token)
    assert cancelled["data"]["cancelRedemption"]["__typename"] == "RedemptionCancelled"
    me = (await gql(client, PROFILE, token=token))["data"]["me"]
    assert me["balances"]["awardMiles"] == 5_000
    assert me["redemptions"] == [{"state": "CANCELLED"}]


async def test_redeeming_needs_a_fresh_sign_in(client: AsyncClient, app: Starlette) -> None:
    enrolled = await _member_with_miles(client, 5_000)
    token = await identified_token(app, enrolled["accountNumber"])
    code = (await gql(client, "{ rewards { code miles } }"))["data"]["rewards"][0]["code"]
    result = (await gql(client, REDEEM, {"code": code, "req": "r-1"}, token=token))["data"]["redeem"]
    assert result == {"__typename": "StepUpRequired"}
    me = (await gql(client, PROFILE, token=enrolled["accessToken"]))["data"]["me"]
    assert me["balances"]["awardMiles"] == 5_000 and me["redemptions"] == []
