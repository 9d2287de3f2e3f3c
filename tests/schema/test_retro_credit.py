"""Retro credit through the API: the member asks by GraphQL, the airline's signed ``flight.flown`` decides,
the member sees the outcome and gets one message; a redelivered webhook credits nothing more."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import record_consent
from loyalty.ledger.models import Posting
from loyalty.members.models import Member
from loyalty.notifications.models import Notification
from loyalty.rules import current_rules
from partners.service import NewPartner
from tests.factories import enrolled_member, gql, make_partner
from tests.support import signed_delivery
from tests.waiting import eventually, settled_inbox_row
from webhooks.models import InboxState, PartnerInbox

TICKET = "2205550001112"
WAIT_S = 5.0

REQUEST = """
mutation Ask($input: RetroCreditInput!) {
  requestRetroCredit(input: $input) {
    __typename
    ... on RetroCreditRequested { requests { id state reason flightNumber flightDate awardMiles } }
    ... on RetroCreditRefused { code field message }
    ... on InputError { code field message }
  }
}
"""

BY_BOARDING_PASS = """
mutation Pass($data: String!, $ticket: String) {
  requestRetroCreditByBoardingPass(data: $data, ticketNumber: $ticket) {
    __typename
    ... on RetroCreditRequested { requests { state reason carrier flightNumber cabin bookingClass } }
    ... on BoardingPassInvalid { code field position }
    ... on InputError { code field }
  }
}
"""

MY_REQUESTS = """
query Mine {
  me {
    balances { awardMiles points qualifyingPoints honCirclePoints }
    retroCreditRequests { id state reason reasonText awardMiles points decidedAt }
  }
}
"""


@pytest.fixture
def flight_day(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=10)


def form(day: dt.date, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "flightDate": day.isoformat(),
        "carrier": "LH",
        "flightNumber": "400",
        "origin": "FRA",
        "destination": "JFK",
        "cabin": "BUSINESS",
        "bookingClass": "J",
        "ticketNumber": TICKET,
    }
    data.update(changes)
    return data


def flown_event(day: dt.date, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ticketNumber": TICKET,
        "carrier": "LH",
        "flightNumber": "0400",
        "flightDate": day.isoformat(),
        "origin": "FRA",
        "destination": "JFK",
        "cabin": "business",
        "bookingClass": "J",
        "passenger": {"surname": "LOVELACE", "givenName": "ADA MRS"},
    }
    data.update(changes)
    return {"type": "flight.flown", "data": data}


async def deliver(client: AsyncClient, partner: NewPartner, event: dict[str, Any], webhook_id: str) -> int:
    body, headers = signed_delivery(partner.signing_secret, event, webhook_id=webhook_id)
    response = await client.post(f"/webhooks/partners/{partner.code}", content=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    inbox_id: int = response.json()["id"]
    return inbox_id


async def settled(inbox_id: int) -> PartnerInbox:
    return await settled_inbox_row(inbox_id, timeout_s=WAIT_S)


async def messages_sent(account_number: str, template: str) -> list[Notification]:
    """The member's messages of ``template`` once the event relay has run (bounded wait)."""
    member = await Member.get(account_number=account_number)
    return await eventually(
        lambda: Notification.filter(account_id=member.id, template=template),
        timeout_s=WAIT_S,
        what=f"a {template} message",
    )


@pytest.fixture
async def airline(client: AsyncClient) -> NewPartner:
    return await make_partner("lufthansa")


async def test_requested_by_graphql_then_decided_by_the_airlines_flown_data(
    app: Starlette, client: AsyncClient, airline: NewPartner, flight_day: dt.date
) -> None:
    # given: a member (who consented to e-mail) asks for a flight the airline has not reported yet
    enrolled = await enrolled_member(client)
    token = enrolled["accessToken"]
    member = await Member.get(account_number=enrolled["accountNumber"])
    await record_consent(
        account_id=member.id,
        purpose=ConsentPurpose.EMAIL,
        given=True,
        text_version="v1",
        now=dt.datetime.now(dt.UTC),
        rules=current_rules(),
    )
    asked = (await gql(client, REQUEST, {"input": form(flight_day)}, token=token))["data"][
        "requestRetroCredit"
    ]
    assert asked["__typename"] == "RetroCreditRequested", asked
    [request] = asked["requests"]
    assert (request["state"], request["reason"], request["awardMiles"]) == ("PENDING_PARTNER", None, 0)

    # when: the airline's signed flight.flown arrives, then is delivered again under another webhook id
    first = await settled(await deliver(client, airline, flown_event(flight_day), f"msg_{uuid.uuid4().hex}"))
    again = await deliver(client, airline, flown_event(flight_day), f"msg_{uuid.uuid4().hex}")

    # then: accepted and credited once; the member sees it in me
    assert first.state is InboxState.PROCESSED, first.error_code
    assert again == first.id  # the same business event: a duplicate, applied once
    mine = (await gql(client, MY_REQUESTS, token=token))["data"]["me"]
    [seen] = mine["retroCreditRequests"]
    assert (seen["id"], seen["state"], seen["reason"]) == (request["id"], "ACCEPTED", None)
    assert seen["awardMiles"] > 0 and seen["decidedAt"]
    assert mine["balances"]["awardMiles"] == seen["awardMiles"]
    assert mine["balances"]["points"] == mine["balances"]["honCirclePoints"] == seen["points"] > 0
    assert await Posting.filter(account_id=member.id).count() == 1
    # and one message about the decision, none about a second credit
    [accepted] = await messages_sent(enrolled["accountNumber"], "retro_credit_accepted")
    assert accepted.payload["miles"] == seen["awardMiles"]
    assert await Notification.filter(account_id=member.id, template="miles_credited").count() == 0


async def test_the_same_flight_redelivered_with_the_member_named_credits_once(
    client: AsyncClient, airline: NewPartner, flight_day: dt.date
) -> None:
    # given: an accepted request
    enrolled = await enrolled_member(client)
    await settled(await deliver(client, airline, flown_event(flight_day), f"msg_{uuid.uuid4().hex}"))
    asked = (await gql(client, REQUEST, {"input": form(flight_day)}, token=enrolled["accessToken"]))["data"]
    assert asked["requestRetroCredit"]["requests"][0]["state"] == "ACCEPTED"

    # when: the airline redelivers the coupon (same webhook id), then sends it for another partner
    # record naming the member (automatic accrual would credit it)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    named = flown_event(flight_day, member={"accountNumber": enrolled["accountNumber"]})
    other_airline = await make_partner("lufthansa-cargo")
    first = await settled(await deliver(client, other_airline, named, webhook_id))
    second = await deliver(client, other_airline, named, webhook_id)

    # then: processed, and still one posting
    assert first.state is InboxState.PROCESSED and second == first.id
    member = await Member.get(account_number=enrolled["accountNumber"])
    assert await Posting.filter(account_id=member.id).count() == 1


async def test_flown_data_naming_a_member_credits_the_flight_automatically(
    client: AsyncClient, airline: NewPartner, flight_day: dt.date
) -> None:
    enrolled = await enrolled_member(client)
    event = flown_event(flight_day, member={"accountNumber": enrolled["accountNumber"]})
    row = await settled(await deliver(client, airline, event, f"msg_{uuid.uuid4().hex}"))
    assert row.state is InboxState.PROCESSED, row.error_code
    member = await Member.get(account_number=enrolled["accountNumber"])
    [posting] = await Posting.filter(account_id=member.id)
    assert posting.source == "FLIGHT_ACCRUAL"
    assert posting.partner_reference == f"LH400:{flight_day.isoformat()}:{TICKET}"
    # a retro-credit request for it now is refused
    asked = (await gql(client, REQUEST, {"input": form(flight_day)}, token=enrolled["accessToken"]))["data"]
    assert asked["requestRetroCredit"] == {
        "__typename": "RetroCreditRefused",
        "code": "ALREADY_CREDITED",
        "field": "ticketNumber",
        "message": "This flight has been credited already.",
    }


@pytest.mark.parametrize(
    ("changes", "typename", "code", "field"),
    [
        pytest.param(
            {"ticketNumber": "123"}, "InputError", "TICKET_NUMBER_INVALID", "ticketNumber", id="bad-ticket"
        ),
        pytest.param({"origin": "XXX"}, "InputError", "UNKNOWN_AIRPORT", "origin", id="unknown-airport"),
        pytest.param(
            {"flightNumber": ""},
            "InputError",
            "FLIGHT_NUMBER_REQUIRED",
            "flightNumber",
            id="no-flight-number",
        ),
        pytest.param({"carrier": "L"}, "InputError", "CARRIER_INVALID", "carrier", id="bad-carrier"),
        pytest.param(
            {"flightNumber": "40000"}, "InputError", "FLIGHT_NUMBER_INVALID", "flightNumber", id="bad-number"
        ),
        pytest.param({"destination": "FRA"}, "InputError", "SAME_AIRPORT", "destination", id="same-airport"),
        pytest.param(
            {"carrier": "TK", "origin": "IST", "destination": "FRA"},
            "RetroCreditRefused",
            "DOC_REQUIRED",
            "boardingPass",
            id="doc",
        ),
    ],
)
async def test_refusals_are_typed_and_register_nothing(
    client: AsyncClient,
    flight_day: dt.date,
    changes: dict[str, Any],
    typename: str,
    code: str,
    field: str,
) -> None:
    enrolled = await enrolled_member(client)
    result = (
        await gql(client, REQUEST, {"input": form(flight_day, **changes)}, token=enrolled["accessToken"])
    )["data"]
    refused = result["requestRetroCredit"]
    assert (refused["__typename"], refused["code"], refused["field"]) == (typename, code, field)
    mine = (await gql(client, MY_REQUESTS, token=enrolled["accessToken"]))["data"]["me"]
    assert mine["retroCreditRequests"] == []


async def test_a_rejection_shows_its_reason(client: AsyncClient, today: dt.date) -> None:
    enrolled = await enrolled_member(client)
    old = (today - dt.timedelta(days=200)).isoformat()
    result = (
        await gql(client, REQUEST, {"input": form(today, flightDate=old)}, token=enrolled["accessToken"])
    )["data"]
    assert result["requestRetroCredit"]["requests"][0]["state"] == "REJECTED"
    [seen] = (await gql(client, MY_REQUESTS, token=enrolled["accessToken"]))["data"]["me"][
        "retroCreditRequests"
    ]
    assert (seen["state"], seen["reason"]) == ("REJECTED", "OUT_OF_WINDOW")
    assert seen["reasonText"] == "The flight is more than 6 months ago."


async def test_by_boarding_pass_string(client: AsyncClient, flight_day: dt.date) -> None:
    from tests.loyalty.retro_credit_helpers import boarding_pass

    enrolled = await enrolled_member(client)
    data = boarding_pass(name="LOVELACE/ADA MRS", day=flight_day, ticket=TICKET)
    result = (await gql(client, BY_BOARDING_PASS, {"data": data}, token=enrolled["accessToken"]))["data"]
    assert result["requestRetroCreditByBoardingPass"] == {
        "__typename": "RetroCreditRequested",
        "requests": [
            {
                "state": "PENDING_PARTNER",
                "reason": None,
                "carrier": "LH",
                "flightNumber": "400",
                "cabin": "BUSINESS",
                "bookingClass": "J",
            }
        ],
    }
    broken = await gql(client, BY_BOARDING_PASS, {"data": "X" + data[1:]}, token=enrolled["accessToken"])
    assert broken["data"]["requestRetroCreditByBoardingPass"]["__typename"] == "BoardingPassInvalid"


async def test_asking_needs_a_signed_in_member(client: AsyncClient, flight_day: dt.date) -> None:
    body = await gql(client, REQUEST, {"input": form(flight_day)})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
