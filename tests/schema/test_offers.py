"""Offers over GraphQL (issue 7): the member's offers and activating one."""

from __future__ import annotations

import datetime as dt

from httpx2 import AsyncClient

from loyalty.offers.models import OfferKind
from loyalty.offers.service import add_offer
from tests.factories import enrolled_member, gql

OFFERS = "query { me { offers { code partnerCode kind bonusMiles activated personalised } } }"
ACTIVATE = """
mutation A($code: String!) {
  activateOffer(code: $code) { __typename ... on OfferActivated { code } ... on InputError { code } }
}
"""


async def test_see_and_activate_an_offer(client: AsyncClient) -> None:
    now = dt.datetime.now(dt.UTC)
    await add_offer(
        code="SHOP-X2",
        partner_code="shop",
        kind=OfferKind.EARN,
        title="Double miles",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
        bonus_miles=500,
    )
    token = (await enrolled_member(client))["accessToken"]
    [offer] = (await gql(client, OFFERS, token=token))["data"]["me"]["offers"]
    assert offer == {
        "code": "SHOP-X2",
        "partnerCode": "shop",
        "kind": "EARN",
        "bonusMiles": 500,
        "activated": False,
        "personalised": False,
    }
    done = (await gql(client, ACTIVATE, {"code": "SHOP-X2"}, token=token))["data"]["activateOffer"]
    assert done == {"__typename": "OfferActivated", "code": "SHOP-X2"}
    again = (await gql(client, ACTIVATE, {"code": "SHOP-X2"}, token=token))["data"]["activateOffer"]
    assert again == {"__typename": "InputError", "code": "ALREADY_ACTIVATED"}
    assert (await gql(client, OFFERS, token=token))["data"]["me"]["offers"][0]["activated"] is True
