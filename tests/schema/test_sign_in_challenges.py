"""completeSignIn claims its challenge before it spends anything: a refused request (CHALLENGE_USED) keeps
the recovery code or the authenticator-app step it carried, and of two parallel completions of one
challenge exactly one signs in and exactly one code is spent."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from httpx2 import AsyncClient

from gateway.settings import Settings
from gateway.tokens import TokenService
from loyalty.auth import totp
from loyalty.auth.totp import ChallengeRefused
from loyalty.rules import current_rules
from resolvers.auth import Session, complete_sign_in
from tests.factories import TEST_SECRET, gql, make_member
from tests.loyalty.test_totp import oath, previous_step_code
from tests.schema.test_two_factor import COMPLETE, SIGN_IN, _member_with_two_factor

TOTP_KEY = b"k" * 32


async def _challenge(client: AsyncClient, service_card_number: str) -> str:
    started = (await gql(client, SIGN_IN, {"scn": service_card_number}))["data"]["signIn"]
    assert started["__typename"] == "TwoFactorRequired", started
    challenge: str = started["challenge"]
    return challenge


async def _complete(client: AsyncClient, challenge: str, code: str) -> dict[str, str]:
    result: dict[str, str] = (await gql(client, COMPLETE, {"challenge": challenge, "code": code}))["data"][
        "completeSignIn"
    ]
    return result


async def test_a_used_challenge_does_not_spend_a_recovery_code(client: AsyncClient) -> None:
    # given: a sign-in completed with one recovery code
    enrolled, _, recovery = await _member_with_two_factor(client)
    used = await _challenge(client, enrolled["serviceCardNumber"])
    assert (await _complete(client, used, recovery[0]))["__typename"] == "SignedIn"

    # when: the same challenge is sent again with another, unused recovery code
    again = await _complete(client, used, recovery[1])

    # then: refused, and that recovery code still completes a fresh sign-in
    assert again == {"__typename": "SessionEnded", "code": "CHALLENGE_USED"}
    fresh = await _challenge(client, enrolled["serviceCardNumber"])
    assert (await _complete(client, fresh, recovery[1]))["__typename"] == "SignedIn"


async def test_a_used_challenge_does_not_spend_an_app_code(client: AsyncClient) -> None:
    # given: a sign-in completed with a recovery code (no time step recorded by it)
    enrolled, secret, recovery = await _member_with_two_factor(client)
    used = await _challenge(client, enrolled["serviceCardNumber"])
    assert (await _complete(client, used, recovery[0]))["__typename"] == "SignedIn"

    # when: the same challenge is sent again with the app's current code
    code = await oath(secret, dt.datetime.now(dt.UTC))
    again = await _complete(client, used, code)

    # then: refused, and the code's time step is still unused: it completes a fresh sign-in
    assert again == {"__typename": "SessionEnded", "code": "CHALLENGE_USED"}
    fresh = await _challenge(client, enrolled["serviceCardNumber"])
    assert (await _complete(client, fresh, code))["__typename"] == "SignedIn"


@pytest.mark.postgres
async def test_parallel_completions_of_one_challenge_sign_in_once_and_spend_one_code(pg_db: Settings) -> None:
    # given: a member with app 2FA and a challenge from a sign-in
    rules = current_rules()
    member = (await make_member()).member
    enrolment = await totp.begin_enrolment(
        account_id=member.id, account_label="grace", key=TOTP_KEY, rules=rules.two_factor
    )
    recovery = await totp.confirm_enrolment(
        account_id=member.id,
        code=await previous_step_code(enrolment.secret_base32),
        key=TOTP_KEY,
        rules=rules.two_factor,
        now=dt.datetime.now(dt.UTC),
    )
    tokens = TokenService(TEST_SECRET, ttl_s=900, authenticated_window_s=900)
    challenge = tokens.issue_challenge(account_id=member.id, method="SERVICE_CARD_NUMBER", platform="WEB")

    # when: two completions of that challenge run at once, each with its own valid recovery code
    async def attempt(code: str) -> str:
        try:
            session = await complete_sign_in(
                tokens=tokens, rules=rules, totp_key=TOTP_KEY, challenge=challenge, code=code
            )
        except ChallengeRefused as refused:
            return refused.code
        assert isinstance(session, Session)
        return "SIGNED_IN"

    outcomes = await asyncio.gather(attempt(recovery[0]), attempt(recovery[1]))

    # then: one signed in, the other was refused, and only one recovery code is gone
    assert sorted(outcomes) == ["CHALLENGE_USED", "SIGNED_IN"]
    assert await totp.remaining_recovery_codes(account_id=member.id) == len(recovery) - 1
