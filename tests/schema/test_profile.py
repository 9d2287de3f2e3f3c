"""Profile changes need an AUTHENTICATED session; the member sees user ID and 2FA state in `me`."""

from __future__ import annotations

from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.members.models import Member
from tests.factories import enrolled_member, gql, identified_token

UPDATE = """
mutation U($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    __typename
    ... on ProfileUpdated { member { language userId } }
    ... on StepUpRequired { requiredLevel }
    ... on InputError { code field }
  }
}
"""
CHANGE_PIN = "mutation P($pin: String!) { changePin(newPin: $pin) { __typename ... on InputError { code } } }"
SIGN_IN = """
mutation S($scn: String!, $pin: String!) {
  signIn(input: {method: SERVICE_CARD_NUMBER, identifier: $scn, secret: $pin}) { __typename }
}
"""
PROFILE = "query { me { userId twoFactorEnabled language } }"


async def test_profile_shows_user_id_and_two_factor_state(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client, userId="ada.l", password="correct horse battery")
    me = (await gql(client, PROFILE, token=enrolled["accessToken"]))["data"]["me"]
    assert me == {"userId": "ada.l", "twoFactorEnabled": False, "language": "en"}


async def test_profile_changes_need_an_authenticated_session(client: AsyncClient, app: Starlette) -> None:
    enrolled = await enrolled_member(client)
    identified = await identified_token(app, enrolled["accountNumber"])
    for document, variables in ((UPDATE, {"input": {"language": "de"}}), (CHANGE_PIN, {"pin": "284917"})):
        result = await gql(client, document, variables, token=identified)
        assert next(iter(result["data"].values()))["__typename"] == "StepUpRequired"
    member = await Member.get(account_number=enrolled["accountNumber"])
    assert member.language == "en"


async def test_update_profile_and_change_pin(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    updated = (await gql(client, UPDATE, {"input": {"language": "DE", "userId": "grace.h"}}, token=token))[
        "data"
    ]
    assert updated["updateProfile"]["member"] == {"language": "de", "userId": "grace.h"}
    bad = (await gql(client, UPDATE, {"input": {"language": "xx"}}, token=token))["data"]["updateProfile"]
    assert bad == {"__typename": "InputError", "code": "LANGUAGE_INVALID", "field": "language"}

    trivial = (await gql(client, CHANGE_PIN, {"pin": "111111"}, token=token))["data"]["changePin"]
    assert trivial == {"__typename": "InputError", "code": "PIN_TOO_SIMPLE"}
    assert (await gql(client, CHANGE_PIN, {"pin": "284917"}, token=token))["data"]["changePin"][
        "__typename"
    ] == ("SecretChanged")
    scn = enrolled["serviceCardNumber"]
    new = (await gql(client, SIGN_IN, {"scn": scn, "pin": "284917"}))["data"]["signIn"]["__typename"]
    old = (await gql(client, SIGN_IN, {"scn": scn, "pin": "739152"}))["data"]["signIn"]["__typename"]
    assert (new, old) == ("SignedIn", "WrongCredentials")


async def test_a_taken_user_id_is_refused(client: AsyncClient) -> None:
    await enrolled_member(client, userId="ada.l", password="correct horse battery")
    other = await enrolled_member(client, email="grace@example.com")
    result = (await gql(client, UPDATE, {"input": {"userId": "Ada.L"}}, token=other["accessToken"]))["data"]
    assert result["updateProfile"] == {"__typename": "InputError", "code": "USER_ID_TAKEN", "field": "userId"}
