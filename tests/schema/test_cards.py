"""Cards through GraphQL: report a card lost (step-up), advertising consent, card history and orders,
and the "Lost service card number" request that needs no sign-in."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.members import cards
from loyalty.members.models import CardOrderReason, Member, Tier
from loyalty.rules import current_rules
from tests.factories import ME, enrolled_member, gql, identified_token

REPORT_LOST = """
mutation Lost($stolen: Boolean!) {
  reportCardLost(stolen: $stolen) {
    __typename
    ... on CardBlocked { reason card { number state tier } }
    ... on StepUpRequired { requiredLevel }
    ... on InputError { code }
  }
}
"""
SET_CONSENT = """
mutation Consent($given: Boolean!) {
  setAdvertisingConsent(given: $given) {
    __typename
    ... on ConsentChanged { advertisingConsent newNumberIssued card { number state } }
    ... on StepUpRequired { requiredLevel }
  }
}
"""
REPORT_LOST_NUMBER = """
mutation LostNumber($input: LostServiceCardNumberInput!) {
  reportLostServiceCardNumber(input: $input) {
    __typename
    ... on SupportCaseOpened { reference message }
    ... on InputError { code field }
  }
}
"""
CARDS = """
query Cards {
  me {
    card { number }
    cardHistory { number state tier validUntil }
    cardOrders { reason serviceCardNumber shipOn activateOn shippedAt }
  }
}
"""
SIGN_IN = """
mutation SignIn($scn: String!) {
  signIn(input: {method: SERVICE_CARD_NUMBER, identifier: $scn, secret: "739152"}) {
    __typename
    ... on SignedIn { refreshToken }
    ... on WrongCredentials { code }
  }
}
"""
REFRESH = "mutation R($t: String!) { refreshSession(refreshToken: $t) { __typename } }"
REFERENCE = re.compile(r"^LSC-[2-9A-HJKMNP-TV-Z]{8}$")


async def test_reporting_a_card_lost_needs_a_fresh_sign_in(client: AsyncClient, app: Starlette) -> None:
    enrolled = await enrolled_member(client)
    identified = await identified_token(app, enrolled["accountNumber"])

    refused = (await gql(client, REPORT_LOST, {"stolen": False}, token=identified))["data"]["reportCardLost"]

    assert refused == {"__typename": "StepUpRequired", "requiredLevel": "AUTHENTICATED"}
    me = (await gql(client, ME, token=identified))["data"]["me"]
    assert me["card"]["number"] == enrolled["serviceCardNumber"]


async def test_a_lost_card_is_blocked_and_replaced_at_once(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    token, old_number = enrolled["accessToken"], enrolled["serviceCardNumber"]

    blocked = (await gql(client, REPORT_LOST, {"stolen": False}, token=token))["data"]["reportCardLost"]

    assert blocked["__typename"] == "CardBlocked" and blocked["reason"] == "LOST"
    new_number = blocked["card"]["number"]
    assert new_number != old_number and new_number[:4] == old_number[:4] == "9999"
    assert blocked["card"]["state"] == "ACTIVE"
    me = (await gql(client, CARDS, token=token))["data"]["me"]
    assert me["card"]["number"] == new_number
    assert [(c["number"], c["state"]) for c in me["cardHistory"]] == [
        (new_number, "ACTIVE"),
        (old_number, "BLOCKED"),
    ]
    old = (await gql(client, SIGN_IN, {"scn": old_number}))["data"]["signIn"]
    assert old == {"__typename": "WrongCredentials", "code": "INVALID_CREDENTIALS"}
    assert (await gql(client, SIGN_IN, {"scn": new_number}))["data"]["signIn"]["__typename"] == "SignedIn"


async def test_a_stolen_card_ends_the_sessions_of_the_old_number(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    signed_in = (await gql(client, SIGN_IN, {"scn": enrolled["serviceCardNumber"]}))["data"]["signIn"]

    blocked = (await gql(client, REPORT_LOST, {"stolen": True}, token=enrolled["accessToken"]))["data"]
    assert blocked["reportCardLost"]["reason"] == "STOLEN"

    refreshed = (await gql(client, REFRESH, {"t": signed_in["refreshToken"]}))["data"]["refreshSession"]
    assert refreshed["__typename"] == "SessionEnded"


async def test_reporting_a_card_lost_needs_a_member(client: AsyncClient) -> None:
    body = await gql(client, REPORT_LOST, {"stolen": False})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_base_members_consent_change_issues_a_new_number(client: AsyncClient, app: Starlette) -> None:
    enrolled = await enrolled_member(client)  # no advertising consent: 9999
    token = enrolled["accessToken"]
    identified = await identified_token(app, enrolled["accountNumber"])
    refused = (await gql(client, SET_CONSENT, {"given": True}, token=identified))["data"]
    assert refused["setAdvertisingConsent"]["__typename"] == "StepUpRequired"

    given = (await gql(client, SET_CONSENT, {"given": True}, token=token))["data"]["setAdvertisingConsent"]
    assert given["__typename"] == "ConsentChanged" and given["newNumberIssued"] is True
    assert given["advertisingConsent"] is True and given["card"]["number"].startswith("9920")

    again = (await gql(client, SET_CONSENT, {"given": True}, token=token))["data"]["setAdvertisingConsent"]
    assert again["newNumberIssued"] is False and again["card"] == given["card"]
    me = (await gql(client, CARDS, token=token))["data"]["me"]
    assert [c["state"] for c in me["cardHistory"]] == ["ACTIVE", "SUPERSEDED"]


async def test_card_orders_show_the_status_card_on_its_way(client: AsyncClient) -> None:
    enrolled = await enrolled_member(client)
    member = await Member.get(account_number=enrolled["accountNumber"])
    today = dt.date.today()
    await cards.issue_status_card(
        account_id=member.id,
        tier=Tier.SEN,
        valid_until=dt.date(today.year + 2, 2, 28),
        reason=CardOrderReason.ACHIEVED,
        rules=current_rules(),
        today=today,
    )

    me = (await gql(client, CARDS, token=enrolled["accessToken"]))["data"]["me"]

    assert me["card"]["number"].startswith("222")
    assert me["cardHistory"][0] == {
        "number": me["card"]["number"],
        "state": "ACTIVE",
        "tier": "SEN",
        "validUntil": f"{today.year + 2}-02-28",
    }
    assert me["cardOrders"] == [
        {
            "reason": "ACHIEVED",
            "serviceCardNumber": me["card"]["number"],
            "shipOn": today.isoformat(),
            "activateOn": today.isoformat(),
            "shippedAt": None,
        }
    ]


def _lost_number_input(**overrides: Any) -> dict[str, Any]:
    data = {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "dateOfBirth": "1990-12-10",
        "email": "ada@example.com",
        "idDocumentReference": "certified ID copy sent 2026-11-19",
    }
    data.update(overrides)
    return data


async def test_a_lost_number_request_answers_the_same_whether_or_not_it_matches(client: AsyncClient) -> None:
    await enrolled_member(client)  # Ada Lovelace, ada@example.com, 1990-12-10

    matching = (await gql(client, REPORT_LOST_NUMBER, {"input": _lost_number_input()}))["data"]
    stranger = (
        await gql(client, REPORT_LOST_NUMBER, {"input": _lost_number_input(email="nobody@example.com")})
    )["data"]

    first, second = matching["reportLostServiceCardNumber"], stranger["reportLostServiceCardNumber"]
    assert first["__typename"] == second["__typename"] == "SupportCaseOpened"
    assert first.keys() == second.keys() and first["message"] == second["message"]
    assert REFERENCE.match(first["reference"]) and REFERENCE.match(second["reference"])
    assert first["reference"] != second["reference"]


async def test_a_lost_number_request_with_bad_input_is_a_typed_error(client: AsyncClient) -> None:
    body = await gql(client, REPORT_LOST_NUMBER, {"input": _lost_number_input(email="ada-at-example")})
    assert body["data"]["reportLostServiceCardNumber"] == {
        "__typename": "InputError",
        "code": "EMAIL_INVALID",
        "field": "email",
    }
