"""App 2FA through GraphQL: enrol, confirm, the sign-in challenge, recovery codes, step-up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient

from gateway.services import services
from gateway.tokens import TokenService
from loyalty.members.models import Member, SessionLevel
from tests.factories import ME, enrolled_member, gql
from tests.loyalty.test_totp import oath, previous_step_code

BEGIN = "mutation { beginTwoFactor { __typename ... on TwoFactorEnrolment { secret otpauthUri qrCodeSvg } ... on StepUpRequired { requiredLevel } } }"
CONFIRM = "mutation C($code: String!) { confirmTwoFactor(code: $code) { __typename ... on TwoFactorEnabled { recoveryCodes } ... on WrongCredentials { code } } }"
DISABLE = "mutation D($code: String!) { disableTwoFactor(code: $code) { __typename ... on WrongCredentials { code } } }"
SIGN_IN = """
mutation S($scn: String!) {
  signIn(input: {method: SERVICE_CARD_NUMBER, identifier: $scn, secret: "739152"}) {
    __typename ... on TwoFactorRequired { challenge } ... on SignedIn { accessToken }
  }
}
"""
COMPLETE = """
mutation F($challenge: String!, $code: String!) {
  completeSignIn(challenge: $challenge, code: $code) {
    __typename
    ... on SignedIn { accessToken sessionLevel }
    ... on WrongCredentials { code }
    ... on SessionEnded { code }
  }
}
"""


async def _member_with_two_factor(client: AsyncClient) -> tuple[dict[str, Any], str, list[str]]:
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    begun = (await gql(client, BEGIN, token=token))["data"]["beginTwoFactor"]
    assert begun["__typename"] == "TwoFactorEnrolment"
    assert begun["qrCodeSvg"].lstrip().startswith("<svg") or "<svg" in begun["qrCodeSvg"]
    assert f"secret={begun['secret']}" in begun["otpauthUri"]
    code = await previous_step_code(begun["secret"])
    confirmed = (await gql(client, CONFIRM, {"code": code}, token=token))["data"]
    assert confirmed["confirmTwoFactor"]["__typename"] == "TwoFactorEnabled"
    return enrolled, begun["secret"], confirmed["confirmTwoFactor"]["recoveryCodes"]


async def test_sign_in_asks_for_the_code_once_enabled(client: AsyncClient) -> None:
    enrolled, secret, _ = await _member_with_two_factor(client)
    first = (await gql(client, SIGN_IN, {"scn": enrolled["serviceCardNumber"]}))["data"]["signIn"]
    assert first["__typename"] == "TwoFactorRequired"

    wrong = await gql(client, COMPLETE, {"challenge": first["challenge"], "code": "000000"})
    assert wrong["data"]["completeSignIn"] == {"__typename": "WrongCredentials", "code": "TWO_FACTOR_INVALID"}

    code = await oath(secret, dt.datetime.now(dt.UTC))
    done = (await gql(client, COMPLETE, {"challenge": first["challenge"], "code": code}))["data"][
        "completeSignIn"
    ]
    assert done["__typename"] == "SignedIn" and done["sessionLevel"] == "AUTHENTICATED"
    assert (await gql(client, ME, token=done["accessToken"]))["data"]["me"]["accountNumber"]

    again = (await gql(client, COMPLETE, {"challenge": first["challenge"], "code": code}))["data"][
        "completeSignIn"
    ]
    assert again["__typename"] in {"WrongCredentials", "SessionEnded"}  # replayed code or spent challenge


async def test_a_recovery_code_completes_a_sign_in_once(client: AsyncClient) -> None:
    enrolled, _, recovery = await _member_with_two_factor(client)
    for expected in ("SignedIn", "WrongCredentials"):
        challenge = (await gql(client, SIGN_IN, {"scn": enrolled["serviceCardNumber"]}))["data"]["signIn"][
            "challenge"
        ]
        result = (await gql(client, COMPLETE, {"challenge": challenge, "code": recovery[0]}))["data"]
        assert result["completeSignIn"]["__typename"] == expected


async def test_a_forged_challenge_is_refused(client: AsyncClient) -> None:
    result = (await gql(client, COMPLETE, {"challenge": "not-a-challenge", "code": "123456"}))["data"]
    assert result["completeSignIn"] == {"__typename": "SessionEnded", "code": "CHALLENGE_INVALID"}


async def test_changing_two_factor_needs_an_authenticated_session(client: AsyncClient, app: Any) -> None:
    enrolled = await enrolled_member(client)
    member = await Member.get(account_number=enrolled["accountNumber"])
    tokens: TokenService = services(app).tokens
    identified = tokens.issue(
        account_id=member.id, level=SessionLevel.IDENTIFIED, generation=member.session_generation
    )
    result = (await gql(client, BEGIN, token=identified))["data"]["beginTwoFactor"]
    assert result == {"__typename": "StepUpRequired", "requiredLevel": "AUTHENTICATED"}


async def test_disabling_needs_a_valid_code(client: AsyncClient) -> None:
    enrolled, secret, _ = await _member_with_two_factor(client)
    token = enrolled["accessToken"]
    refused = (await gql(client, DISABLE, {"code": "000000"}, token=token))["data"]["disableTwoFactor"]
    assert refused == {"__typename": "WrongCredentials", "code": "TWO_FACTOR_INVALID"}
    code = await oath(secret, dt.datetime.now(dt.UTC))
    assert (await gql(client, DISABLE, {"code": code}, token=token))["data"]["disableTwoFactor"][
        "__typename"
    ] == ("TwoFactorDisabled")
    signed_in = (await gql(client, SIGN_IN, {"scn": enrolled["serviceCardNumber"]}))["data"]["signIn"]
    assert signed_in["__typename"] == "SignedIn"
