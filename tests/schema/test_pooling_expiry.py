"""An expired pool invitation through the schema (issue 19): not listed, and accepting it is a typed
``InputError`` with ``INVITATION_EXPIRED``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient

from loyalty.pooling.models import MembershipState, PoolMembership
from loyalty.rules import current_rules
from tests.factories import enrolled_member, gql

INVITE = """
mutation I($card: String!) { inviteToPool(serviceCardNumber: $card) { __typename } }
"""
INVITATIONS = "{ me { poolInvitations { id invitedAt expiresAt } } }"
ACCEPT = """
mutation A($id: ID!) {
  acceptPoolInvitation(id: $id) { __typename ... on InputError { code field message } }
}
"""


async def _data(client: AsyncClient, query: str, variables: dict[str, Any] | None, token: str) -> Any:
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def test_an_expired_invitation_is_not_listed_and_cannot_be_accepted(client: AsyncClient) -> None:
    founder = await enrolled_member(
        client, givenName="Ada", email="ada@example.com", dateOfBirth="1980-05-01"
    )
    invitee = await enrolled_member(
        client, givenName="Bert", email="bert@example.com", dateOfBirth="1982-07-02"
    )
    sent = await _data(client, INVITE, {"card": invitee["serviceCardNumber"]}, founder["accessToken"])
    assert sent["__typename"] == "PoolUpdated"
    [listed] = (await _data(client, INVITATIONS, None, invitee["accessToken"]))["poolInvitations"]
    valid = dt.timedelta(days=current_rules().pooling.invitation_valid_days)
    invited_at = dt.datetime.fromisoformat(listed["invitedAt"])
    assert dt.datetime.fromisoformat(listed["expiresAt"]) == invited_at + valid

    # when: the invitation was sent longer ago than it is valid
    await PoolMembership.filter(id=int(listed["id"])).update(invited_at=invited_at - valid)

    # then
    assert (await _data(client, INVITATIONS, None, invitee["accessToken"]))["poolInvitations"] == []
    refused = await _data(client, ACCEPT, {"id": listed["id"]}, invitee["accessToken"])
    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "InputError",
        "INVITATION_EXPIRED",
        "invitationId",
    )
    assert (await PoolMembership.get(id=int(listed["id"]))).state is MembershipState.EXPIRED
