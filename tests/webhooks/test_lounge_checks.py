"""Lounge and Fast Lane checks as a partner asks for them: a signed request, answered at once, recorded,
and shown to the member on ``me.loungeVisits`` (DOMAIN.md 10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.lounges.models import LoungeCheck
from loyalty.members.models import Member, ServiceCard, Tier
from partners.models import PartnerCapability, PartnerKind
from partners.service import NewPartner
from tests.factories import gql, identified_token, make_partner
from tests.loyalty.test_lounges import boarding_pass, member_with
from tests.support import signed_delivery

VISITS = """
query V($first: Int!, $after: String) {
  me {
    loungeVisits(first: $first, after: $after) {
      edges { cursor node { facility airport admitted ground reason message tier cabin flight flightDate } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def lounge_check(number: str, facility: str = "SENATOR_LOUNGE", **data: Any) -> dict[str, Any]:
    return {
        "type": "lounge.check",
        "data": {
            "serviceCardNumber": number,
            "facility": facility,
            "airport": "FRA",
            "boardingPass": boarding_pass(day=today()),
            **data,
        },
    }


async def ask(
    client: AsyncClient, partner: NewPartner, event: dict[str, Any], webhook_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    body, headers = signed_delivery(partner.signing_secret, event, webhook_id=webhook_id)
    response = await client.post(
        f"/webhooks/partners/{partner.code}/lounge-checks", content=body, headers=headers
    )
    return response.status_code, response.json()


@pytest.fixture
async def lounge(client: AsyncClient) -> NewPartner:
    return await make_partner("lounge-fra", PartnerKind.LOUNGE)


async def test_a_senator_is_admitted_and_sees_the_visit(
    client: AsyncClient, app: Starlette, lounge: NewPartner
) -> None:
    # given: a Senator with today's LH boarding pass from Frankfurt
    number = await member_with(Tier.SEN, today())

    # when: the Frankfurt Senator Lounge asks
    status, answer = await ask(client, lounge, lounge_check(number), webhook_id="chk_1")

    # then: admitted on the status, and the member sees the visit
    assert status == 200
    assert answer | {"checkId": "x"} == {
        "checkId": "x",
        "duplicate": False,
        "admitted": True,
        "ground": "STATUS_SEN",
        "reason": None,
        "message": "Welcome.",
        "facility": "SENATOR_LOUNGE",
        "airport": "FRA",
        "tier": "SEN",
        "cabin": "ECONOMY",
        "flight": "LH400",
        "flightDate": today().isoformat(),
    }
    card = await ServiceCard.get(number=number)
    token = await identified_token(app, (await Member.get(id=card.account_id)).account_number)
    visits = (await gql(client, VISITS, {"first": 10}, token=token))["data"]["me"]["loungeVisits"]
    assert [edge["node"]["ground"] for edge in visits["edges"]] == ["STATUS_SEN"]
    assert visits["edges"][0]["node"]["flightDate"] == today().isoformat()


async def test_a_frequent_traveller_is_refused_with_the_reason(
    client: AsyncClient, lounge: NewPartner
) -> None:
    number = await member_with(Tier.FTL, today())
    status, answer = await ask(client, lounge, lounge_check(number))
    assert status == 200
    assert (answer["admitted"], answer["reason"], answer["tier"]) == (False, "NO_PRIVILEGE", "FTL")
    assert answer["message"] == "Neither the status nor the travel class gives access here."


async def test_fast_lane_admits_economy_flex_at_german_airports_only(
    client: AsyncClient, lounge: NewPartner
) -> None:
    number = await member_with(Tier.BASE, today())
    _, flex = await ask(client, lounge, lounge_check(number, "FAST_LANE", fareFamily="FLEX"))
    _, light = await ask(client, lounge, lounge_check(number, "FAST_LANE", fareFamily="LIGHT"))
    vienna = lounge_check(number, "FAST_LANE", fareFamily="FLEX", airport="VIE")
    vienna["data"]["boardingPass"] = boarding_pass(day=today(), route=("VIE", "FRA"))
    _, abroad = await ask(client, lounge, vienna)
    assert (flex["admitted"], flex["ground"]) == (True, "FARE_ECONOMY_FLEX")
    assert (light["admitted"], abroad["admitted"]) == (False, False)


async def test_a_repeated_request_gets_the_recorded_answer(client: AsyncClient, lounge: NewPartner) -> None:
    number = await member_with(Tier.SEN, today())
    _, first = await ask(client, lounge, lounge_check(number), webhook_id="chk_same")
    status, again = await ask(
        client, lounge, lounge_check(number, "FIRST_CLASS_LOUNGE"), webhook_id="chk_same"
    )
    assert status == 200
    assert again == first | {"duplicate": True}
    assert await LoungeCheck.all().count() == 1


async def test_only_lounge_partners_may_ask(client: AsyncClient) -> None:
    airline = await make_partner("swiss")
    number = await member_with(Tier.SEN, today())
    status, answer = await ask(client, airline, lounge_check(number))
    assert (status, answer["error"]["code"]) == (403, "CAPABILITY_MISSING")
    granted = await make_partner("airline-lounge", capabilities={PartnerCapability.LOUNGE_CHECKS})
    assert (await ask(client, granted, lounge_check(number)))[0] == 200


async def test_unsigned_and_malformed_requests_are_refused_and_record_nothing(
    client: AsyncClient, lounge: NewPartner
) -> None:
    number = await member_with(Tier.SEN, today())
    body, headers = signed_delivery("whsec_" + "A" * 43 + "=", lounge_check(number))
    response = await client.post(
        f"/webhooks/partners/{lounge.code}/lounge-checks", content=body, headers=headers
    )
    assert (response.status_code, response.json()["error"]["code"]) == (401, "SIGNATURE_INVALID")
    status, answer = await ask(client, lounge, lounge_check(number, "SPA"))
    assert (status, answer["error"]["code"], answer["error"]["path"]) == (
        400,
        "PAYLOAD_INVALID",
        "data.facility",
    )
    status, answer = await ask(client, lounge, lounge_check(number, airport="QQQ"))
    assert (status, answer["error"]["code"], answer["error"]["path"]) == (
        422,
        "UNKNOWN_AIRPORT",
        "data.airport",
    )
    assert await LoungeCheck.all().count() == 0
