"""Every mutation takes one ``input:`` object; the scalar arguments older clients send still work, optional
and deprecated beside it (``schema/inputs.py``)."""

from __future__ import annotations

import datetime as dt

from graphql import GraphQLNonNull
from httpx2 import AsyncClient

from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.rewards.catalogue import current_catalogue
from loyalty.rules import current_rules
from schema.root import build_schema
from tests.factories import enrolled_member, gql

REDEEM_WITH_INPUT = """
mutation R($input: RedeemInput) {
  redeem(input: $input) { __typename ... on Redeemed { redemption { id rewardCode } awardMiles } ... on InputError { code } }
}
"""
REDEEM_WITH_ARGUMENTS = """
mutation R($code: String, $req: String) {
  redeem(rewardCode: $code, requestId: $req) { __typename ... on Redeemed { redemption { id } } }
}
"""


def test_every_mutation_with_arguments_takes_one_input_object() -> None:
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None
    for name, field in mutation.fields.items():
        if not field.args:
            continue
        assert "input" in field.args, name
        others = {arg: value for arg, value in field.args.items() if arg != "input"}
        for arg, value in others.items():
            # what older clients send: optional now, and deprecated in favour of input
            assert value.deprecation_reason and "input" in value.deprecation_reason, (name, arg)
            assert not isinstance(value.type, GraphQLNonNull) or value.default_value is not None, (name, arg)


async def _member_with_miles(client: AsyncClient) -> tuple[str, str, int]:
    enrolled = await enrolled_member(client)
    account_id = (await Member.get(account_number=enrolled["accountNumber"])).id
    cheapest = min(current_catalogue().rewards, key=lambda reward: reward.miles)
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: cheapest.miles * 3},
        source=PostingSource.TEST,
        idempotency_key="inputs-miles",
        activity_date=dt.date.today() - dt.timedelta(days=1),
        rule_version="test",
        rules=current_rules(),
    )
    return enrolled["accessToken"], cheapest.code, cheapest.miles


async def test_redeem_takes_an_input_object_and_still_the_old_arguments(client: AsyncClient) -> None:
    token, code, miles = await _member_with_miles(client)

    # when: one redemption through input, one through the deprecated arguments
    new = await gql(
        client, REDEEM_WITH_INPUT, {"input": {"rewardCode": code, "requestId": "r-1"}}, token=token
    )
    old = await gql(client, REDEEM_WITH_ARGUMENTS, {"code": code, "req": "r-2"}, token=token)

    # then: both redeemed, each once
    assert new["data"]["redeem"]["__typename"] == "Redeemed", new
    assert new["data"]["redeem"]["awardMiles"] == miles * 2
    assert old["data"]["redeem"]["__typename"] == "Redeemed", old
    again = await gql(
        client, REDEEM_WITH_INPUT, {"input": {"rewardCode": code, "requestId": "r-1"}}, token=token
    )
    assert again["data"]["redeem"]["redemption"] == new["data"]["redeem"]["redemption"]


async def test_neither_input_nor_the_old_arguments_is_input_required(client: AsyncClient) -> None:
    token, code, _ = await _member_with_miles(client)

    for variables in ({}, {"code": code}):  # nothing, or only half of what the old arguments needed
        body = await gql(client, REDEEM_WITH_ARGUMENTS, variables, token=token)
        assert body["data"] is None  # redeem answers a non-null result: its error nulls the data
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
            ("INPUT_REQUIRED", "input")
        ]
    balance = await gql(client, "{ me { balances { awardMiles } } }", token=token)
    assert balance["data"]["me"]["balances"]["awardMiles"] > 0  # nothing was redeemed


async def test_input_wins_over_the_old_arguments(client: AsyncClient) -> None:
    token = (await enrolled_member(client))["accessToken"]
    document = """
    mutation P($input: ChangePinInput, $old: String) {
      changePin(input: $input, newPin: $old) { __typename ... on InputError { code field } }
    }
    """
    body = await gql(client, document, {"input": {"newPin": "111111"}, "old": "480263"}, token=token)
    assert body["data"]["changePin"] == {"__typename": "InputError", "code": "PIN_TOO_SIMPLE", "field": "pin"}
    changed = await gql(client, document, {"input": {"newPin": "480263"}}, token=token)
    assert changed["data"]["changePin"]["__typename"] == "SecretChanged"
