"""Shared by the award tests: members with miles, the e-mailed identity code, the GraphQL documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx2 import AsyncClient

from gateway.notification_secrets import outbox_box
from gateway.settings import Settings
from gateway.workers.notifications import FileSink, read_outbox
from loyalty.awards.identity import CODE_TEMPLATE
from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import Member
from loyalty.notifications.models import Notification
from loyalty.notifications.service import deliver_pending, open_payload
from loyalty.rules import current_rules
from tests.factories import app_settings, enrolled_member
from tests.waiting import eventually

SEARCH = """
mutation S($input: SearchAwardFlightsInput!) {
  searchAwardFlights(input: $input) {
    __typename
    ... on AwardOffers { offers { pricing fareFamily miles originZone destinationZone longHaul cashFareEur
                                  cashAndMiles { eurPerMile minimumMiles stepMiles } } }
    ... on IdentityConfirmationRequired { code checkId expiresAt codeSent }
    ... on InputError { code field }
  }
}
"""
BOOK = """
mutation B($input: BookAwardFlightInput!) {
  bookAwardFlight(input: $input) {
    __typename
    ... on AwardFlightBooked { awardMiles booking { id ticketNumber pricing priceMiles miles cashEur state } }
    ... on InsufficientMiles { required balance missing }
    ... on IdentityConfirmationRequired { checkId codeSent }
    ... on InputError { code field }
  }
}
"""
CANCEL = """
mutation C($input: CancelAwardBookingInput!) {
  cancelAwardBooking(input: $input) {
    __typename
    ... on AwardBookingCancelled { awardMiles booking { state } }
    ... on InputError { code }
  }
}
"""
BOOKINGS = """
query Q($first: Int!, $after: String) {
  me { awardBookings(first: $first, after: $after) {
    edges { cursor node { id state miles } } pageInfo { hasNextPage endCursor } } }
}
"""
MILESPAY = """
mutation M($input: SetMilesPayInput!) {
  setMilesPay(input: $input) {
    __typename
    ... on MilesPaySet { milespay { state capMiles } }
    ... on InputError { code field }
  }
}
"""


def flight(
    carrier: str = "UA", origin: str = "MUC", destination: str = "ORD", cabin: str = "BUSINESS", **extra: Any
) -> dict[str, Any]:
    return {
        "carrier": carrier,
        "flightNumber": "107",
        "origin": origin,
        "destination": destination,
        "departureDate": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        "cabin": cabin,
        **extra,
    }


async def credit(account_id: int, miles: int, key: str = "seed") -> None:
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=f"{key}-{account_id}",
        activity_date=dt.date.today(),
        rule_version="test",
        rules=current_rules(),
    )


async def member_with_miles(client: AsyncClient, miles: int, **overrides: Any) -> tuple[dict[str, Any], int]:
    """A member enrolled through GraphQL (signed in, AUTHENTICATED) holding ``miles``; and their account id."""
    enrolled = await enrolled_member(client, **overrides)
    member = await Member.get(account_number=enrolled["accountNumber"])
    if miles:
        await credit(member.id, miles)
    return enrolled, member.id


async def identity_code(client: AsyncClient, check_id: str) -> str:
    """The code e-mailed for ``check_id``: from its notification row while it waits (sealed there), else from
    the development sink's sealed outbox once sent."""
    settings: Settings = app_settings(client)
    sink = FileSink(settings.data_dir, outbox_box(settings))

    async def sent() -> str | None:
        for row in await Notification.filter(template=CODE_TEMPLATE).order_by("-id"):
            payload = open_payload(row)
            if payload.get("check_id") == check_id and str(payload.get("token", "")).isdigit():
                return str(payload["token"])
        await deliver_pending(sender=sink, now=dt.datetime.now(dt.UTC))
        for line in reversed(read_outbox(settings.data_dir, outbox_box(settings))):
            if line["template"] == CODE_TEMPLATE and line["payload"].get("check_id") == check_id:
                return str(line["payload"]["token"])
        return None

    code = await eventually(sent, lambda found: found is not None, what=f"the code of check {check_id}")
    assert code is not None
    return code
