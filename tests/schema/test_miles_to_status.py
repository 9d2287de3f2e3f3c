"""Miles to status through the API: the bank reports the card (with the feature) and its card spend by signed
webhooks, the member sees the offer in me.milesToStatus and exchanges with exchangeMilesForStatus."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from httpx2 import AsyncClient

from partners.models import PartnerKind
from partners.service import NewPartner
from tests.factories import enrolled_member, gql, identified_token, make_partner
from tests.support import signed_delivery
from tests.waiting import settled_inbox_row
from webhooks.models import InboxState

OFFER = """
query Offer {
  me {
    balances { awardMiles points qualifyingPoints honCirclePoints }
    milesToStatus { year hasEligibleCard cardMiles awardMiles maxPackages packageMiles exchanged { packages } }
  }
}
"""

EXCHANGE = """
mutation Exchange($input: ExchangeMilesForStatusInput!) {
  exchangeMilesForStatus(input: $input) {
    __typename
    ... on MilesExchangedForStatus {
      awardMiles
      exchange { year packages miles points qualifyingPoints }
      status { tier }
    }
    ... on InputError { code field message }
    ... on StepUpRequired { requiredLevel }
  }
}
"""


async def _deliver(client: AsyncClient, partner: NewPartner, event: dict[str, Any]) -> None:
    body, headers = signed_delivery(partner.signing_secret, event, webhook_id=f"msg_{uuid.uuid4().hex}")
    response = await client.post(f"/webhooks/partners/{partner.code}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    row = await settled_inbox_row(response.json()["id"], timeout_s=5.0)
    assert row.state is InboxState.PROCESSED, (row.error_code, row.error_message)


async def _card_holder(client: AsyncClient, *, today: dt.date, feature: bool = True) -> dict[str, Any]:
    enrolled = await enrolled_member(client)
    member = {"accountNumber": enrolled["accountNumber"]}
    bank = await make_partner("dkb", PartnerKind.BANK)
    await _deliver(
        client,
        bank,
        {
            "type": "card.protection.changed",
            "data": {
                "noticeId": "N-1",
                "member": member,
                "cardReference": "tok_4f9a",
                "product": "STANDARD",
                "change": "ISSUED",
                "effectiveDate": (today - dt.timedelta(days=200)).isoformat(),
                "milesToStatus": feature,
            },
        },
    )
    for transaction_id, miles, category in (("S-1", 12_000, "card_spend"), ("W-1", 20_000, None)):
        data: dict[str, Any] = {
            "transactionId": transaction_id,
            "member": member,
            "activityDate": today.isoformat(),
            "miles": miles,
        }
        if category:
            data |= {"category": category, "cardSpend": {"amount": 6000, "currency": "EUR"}}
        await _deliver(client, bank, {"type": "accrual.created", "data": data})
    return enrolled


async def test_a_card_holder_exchanges_the_miles_earned_with_the_card(
    client: AsyncClient, today: dt.date
) -> None:
    # given: 12,000 miles of card spend and a 20,000-mile welcome bonus
    enrolled = await _card_holder(client, today=today)
    token = enrolled["accessToken"]
    offer = (await gql(client, OFFER, token=token))["data"]["me"]["milesToStatus"]
    assert offer == {
        "year": today.year,
        "hasEligibleCard": True,
        "cardMiles": 12_000,
        "awardMiles": 32_000,
        "maxPackages": 2,
        "packageMiles": 5_000,
        "exchanged": None,
    }

    # when
    result = (await gql(client, EXCHANGE, {"input": {"packages": 2, "requestId": "r-1"}}, token=token))[
        "data"
    ]

    # then
    assert result["exchangeMilesForStatus"] == {
        "__typename": "MilesExchangedForStatus",
        "awardMiles": 22_000,
        "exchange": {
            "year": today.year,
            "packages": 2,
            "miles": 10_000,
            "points": 40,
            "qualifyingPoints": 40,
        },
        "status": {"tier": "BASE"},
    }
    me = (await gql(client, OFFER, token=token))["data"]["me"]
    assert me["balances"] == {
        "awardMiles": 22_000,
        "points": 40,
        "qualifyingPoints": 40,
        "honCirclePoints": 0,
    }
    assert me["milesToStatus"]["maxPackages"] == 0 and me["milesToStatus"]["exchanged"] == {"packages": 2}
    # a second exchange this year is refused
    again = (await gql(client, EXCHANGE, {"input": {"packages": 1, "requestId": "r-2"}}, token=token))["data"]
    assert again["exchangeMilesForStatus"]["code"] == "ALREADY_EXCHANGED_THIS_YEAR"


async def test_too_many_packages_or_no_card_feature_are_typed_refusals(
    client: AsyncClient, today: dt.date
) -> None:
    enrolled = await _card_holder(client, today=today, feature=False)
    token = enrolled["accessToken"]

    no_card = (await gql(client, EXCHANGE, {"input": {"packages": 1, "requestId": "a"}}, token=token))["data"]
    too_many = (await gql(client, EXCHANGE, {"input": {"packages": 6, "requestId": "b"}}, token=token))[
        "data"
    ]

    assert no_card["exchangeMilesForStatus"]["code"] == "NO_ELIGIBLE_CARD"
    assert (too_many["exchangeMilesForStatus"]["code"], too_many["exchangeMilesForStatus"]["field"]) == (
        "PACKAGES_INVALID",
        "packages",
    )
    me = (await gql(client, OFFER, token=token))["data"]["me"]
    assert me["balances"]["awardMiles"] == 32_000 and me["milesToStatus"]["hasEligibleCard"] is False


async def test_an_identified_session_must_step_up(client: AsyncClient, app: Any, today: dt.date) -> None:
    enrolled = await _card_holder(client, today=today)
    token = await identified_token(app, enrolled["accountNumber"])

    result = (await gql(client, EXCHANGE, {"input": {"packages": 1, "requestId": "c"}}, token=token))["data"]

    assert result["exchangeMilesForStatus"] == {
        "__typename": "StepUpRequired",
        "requiredLevel": "AUTHENTICATED",
    }
