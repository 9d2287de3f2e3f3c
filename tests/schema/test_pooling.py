"""Mileage pooling through the real schema: invitations, acceptance, me.pool, pooled redemption, leaving."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.pooling.models import MembershipState, PoolMembership
from loyalty.rules import current_rules
from tests.factories import enrolled_member, gql, identified_token

INVITE = """
mutation I($card: String!) {
  inviteToPool(serviceCardNumber: $card) {
    __typename
    ... on PoolUpdated { dissolved pool { working members { givenName role state founder } } }
    ... on StepUpRequired { requiredLevel }
    ... on InputError { code field }
  }
}
"""
INVITATIONS = "{ me { poolInvitations { id invitedBy role members } } }"
ACCEPT = """
mutation A($id: ID!) {
  acceptPoolInvitation(id: $id) {
    __typename
    ... on PoolUpdated { pool { members { givenName state combinesOn combined } } }
    ... on InputError { code field }
  }
}
"""
DECLINE = """
mutation D($id: ID!) {
  declinePoolInvitation(id: $id) { __typename ... on PoolInvitationDeclined { invitationId } }
}
"""
POOL = """
{ me { pool {
  working awardMiles viewerRole viewerMayRedeem redeemableMiles
  members { id givenName role state founder combined awardMiles }
} } }
"""
REDEEM = """
mutation R($code: String!, $req: String!) {
  redeemFromPool(rewardCode: $code, requestId: $req) {
    __typename
    ... on RedeemedFromPool { poolMiles shares { givenName miles } redemption { id miles state } }
    ... on InsufficientMiles { required balance missing }
    ... on StepUpRequired { requiredLevel }
    ... on InputError { code }
  }
}
"""
REMOVE = """
mutation X($id: ID!) {
  removeFromPool(id: $id) { __typename ... on PoolUpdated { dissolved pool { members { givenName } } } }
}
"""
LEAVE = """
mutation { leavePool { __typename ... on PoolLeft { blockedUntil dissolved } ... on InputError { code } } }
"""
CANCEL = "mutation C($id: ID!) { cancelRedemption(id: $id) { __typename } }"


async def _enrol(client: AsyncClient, name: str, born: str) -> dict[str, Any]:
    return await enrolled_member(
        client, givenName=name, email=f"{name.lower()}@example.com", dateOfBirth=born
    )


async def _credit(account_number: str, miles: int, earned_on: dt.date) -> None:
    member = await Member.get(account_number=account_number)
    await post(
        account_id=member.id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"seed-{member.id}-{miles}",
        activity_date=earned_on,
        rule_version="test",
        rules=current_rules(),
    )


async def _two_days_pass() -> None:
    """Acceptances happened now; let their combining day come (the rule is 2 days)."""
    await PoolMembership.filter(state=MembershipState.ACCEPTED).update(
        combines_on=dt.datetime.now(dt.UTC).date()
    )


async def _data(client: AsyncClient, query: str, variables: dict[str, Any] | None, token: str) -> Any:
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def _accept_invitation(client: AsyncClient, token: str) -> dict[str, Any]:
    invitations = (await _data(client, INVITATIONS, None, token))["poolInvitations"]
    result: dict[str, Any] = await _data(client, ACCEPT, {"id": invitations[0]["id"]}, token)
    return result


async def test_a_family_pools_redeems_and_leaves(client: AsyncClient) -> None:
    founder = await _enrol(client, "Ada", "1980-05-01")
    partner = await _enrol(client, "Bert", "1982-07-02")
    child = await _enrol(client, "Carla", "2015-01-03")
    f, p, c = founder["accessToken"], partner["accessToken"], child["accessToken"]

    invited = await _data(client, INVITE, {"card": partner["serviceCardNumber"]}, f)
    assert invited["__typename"] == "PoolUpdated" and not invited["pool"]["working"]
    assert invited["pool"]["members"] == [
        {"givenName": "Ada", "role": "ADULT", "state": "COMBINED", "founder": True},
        {"givenName": "Bert", "role": "ADULT", "state": "INVITED", "founder": False},
    ]
    mine = (await _data(client, INVITATIONS, None, p))["poolInvitations"]
    assert [(i["invitedBy"], i["role"], i["members"]) for i in mine] == [("Ada Lovelace", "ADULT", 1)]
    accepted = await _accept_invitation(client, p)
    bert = accepted["pool"]["members"][1]
    assert (bert["state"], bert["combined"]) == ("ACCEPTED", False)
    assert bert["combinesOn"] == (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()

    # The child declines a first invitation, then accepts a second one.
    await _data(client, INVITE, {"card": child["serviceCardNumber"]}, f)
    invitation = (await _data(client, INVITATIONS, None, c))["poolInvitations"][0]["id"]
    declined = await _data(client, DECLINE, {"id": invitation}, c)
    assert declined == {"__typename": "PoolInvitationDeclined", "invitationId": invitation}
    await _data(client, INVITE, {"card": child["serviceCardNumber"]}, f)
    await _accept_invitation(client, c)

    await _credit(founder["accountNumber"], 2000, dt.date(2026, 1, 1))
    await _credit(partner["accountNumber"], 3000, dt.date(2025, 1, 1))
    await _credit(child["accountNumber"], 4000, dt.date(2025, 6, 1))
    early = await _data(client, REDEEM, {"code": "SHOP-LUGGAGE-TAG", "req": "r0"}, p)
    assert early == {"__typename": "InputError", "code": "NOT_COMBINED_YET"}
    await _two_days_pass()

    pool = (await _data(client, POOL, None, f))["pool"]
    assert (pool["working"], pool["awardMiles"], pool["viewerRole"], pool["viewerMayRedeem"]) == (
        True,
        9000,
        "ADULT",
        True,
    )
    assert [(m["givenName"], m["role"], m["combined"], m["awardMiles"]) for m in pool["members"]] == [
        ("Ada", "ADULT", True, 2000),
        ("Bert", "ADULT", True, 3000),
        ("Carla", "CHILD", True, 4000),
    ]
    child_view = (await _data(client, POOL, None, c))["pool"]
    assert (child_view["viewerMayRedeem"], child_view["redeemableMiles"]) == (False, 4000)
    refused = await _data(client, REDEEM, {"code": "SHOP-LUGGAGE-TAG", "req": "r1"}, c)
    assert refused == {"__typename": "InputError", "code": "ONLY_ADULTS_REDEEM"}

    done = await _data(client, REDEEM, {"code": "SHOP-AMENITY-KIT", "req": "r1"}, p)  # 6,500
    assert done["__typename"] == "RedeemedFromPool" and done["poolMiles"] == 2500
    assert sorted((s["givenName"], s["miles"]) for s in done["shares"]) == [("Bert", 3000), ("Carla", 3500)]
    short = await _data(client, REDEEM, {"code": "UPGRADE-EU-ECO-BUS", "req": "r2"}, f)
    assert short == {"__typename": "InsufficientMiles", "required": 10000, "balance": 2500, "missing": 7500}
    cancelled = await _data(client, CANCEL, {"id": done["redemption"]["id"]}, p)
    assert cancelled == {"__typename": "RedemptionCancelled"}
    assert (await _data(client, POOL, None, f))["pool"]["awardMiles"] == 9000

    carla = next(m for m in pool["members"] if m["givenName"] == "Carla")
    removed = await _data(client, REMOVE, {"id": carla["id"]}, f)
    assert removed["__typename"] == "PoolUpdated" and not removed["dissolved"]
    assert [m["givenName"] for m in removed["pool"]["members"]] == ["Ada", "Bert"]
    left = await _data(client, LEAVE, None, p)
    assert left["__typename"] == "PoolLeft" and left["dissolved"] is True
    assert left["blockedUntil"] > dt.datetime.now(dt.UTC).date().isoformat()
    assert (await _data(client, POOL, None, f))["pool"] is None
    again = await _data(client, LEAVE, None, p)
    assert again == {"__typename": "InputError", "code": "NOT_IN_POOL"}


async def test_pooling_needs_a_fresh_sign_in(client: AsyncClient, app: Starlette) -> None:
    founder = await _enrol(client, "Ada", "1980-05-01")
    partner = await _enrol(client, "Bert", "1982-07-02")
    remembered = await identified_token(app, founder["accountNumber"])
    for query, variables in (
        (INVITE, {"card": partner["serviceCardNumber"]}),
        (REDEEM, {"code": "SHOP-LUGGAGE-TAG", "req": "r1"}),
    ):
        refused = await _data(client, query, variables, remembered)
        assert refused == {"__typename": "StepUpRequired", "requiredLevel": "AUTHENTICATED"}
    assert await PoolMembership.all().count() == 0
    typo = await _data(client, INVITE, {"card": "123"}, founder["accessToken"])
    assert typo["__typename"] == "InputError" and typo["field"] == "serviceCardNumber"
    bogus = await _data(client, ACCEPT, {"id": "abc"}, partner["accessToken"])
    assert bogus == {"__typename": "InputError", "code": "NOT_FOUND", "field": "invitationId"}
