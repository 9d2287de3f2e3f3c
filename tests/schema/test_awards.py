"""Award flights through the real schema (DOMAIN.md 2, 7): search and quote, the identity check, booking as a
redemption (idempotent, cancellable), Cash & Miles, and the member's bookings."""

from __future__ import annotations

import datetime as dt

from httpx2 import AsyncClient
from starlette.applications import Starlette

from loyalty.auth.models import TotpFactor
from loyalty.awards.config import current_awards
from loyalty.awards.models import AwardBooking, IdentityCheck
from loyalty.ledger.models import Posting, PostingSource
from loyalty.ledger.verify import verify_ledger
from loyalty.paging import id_cursor
from tests.factories import gql, identified_token
from tests.schema.award_helpers import (
    BOOK,
    BOOKINGS,
    CANCEL,
    SEARCH,
    flight,
    identity_code,
    member_with_miles,
)

AWARDS = current_awards()
THRESHOLD = AWARDS.identity_check.balance_above_miles  # DOMAIN.md 2: 10,000


async def test_partners_are_quoted_by_the_zone_chart_and_the_group_by_fare(client: AsyncClient) -> None:
    enrolled, _ = await member_with_miles(client, THRESHOLD)  # at the threshold: no identity check
    token = enrolled["accessToken"]

    partner = await gql(client, SEARCH, {"input": {"flight": flight()}}, token=token)
    assert partner["data"]["searchAwardFlights"]["offers"] == [
        {
            "pricing": "ZONE_CHART",
            "fareFamily": None,
            "miles": 52_500,
            "originZone": "EUROPE",
            "destinationZone": "NORTH_AMERICA",
            "longHaul": True,
            "cashFareEur": None,
            "cashAndMiles": {"eurPerMile": "0.01", "minimumMiles": 3000, "stepMiles": 1000},
        }
    ]
    fares = [
        {"fareFamily": "LIGHT", "fare": {"amount": "129", "currency": "EUR"}},
        {"fareFamily": "CLASSIC", "fare": {"amount": "189", "currency": "EUR"}},
        {"fareFamily": "FLEX", "fare": {"amount": "389", "currency": "EUR"}},
    ]
    group = await gql(
        client,
        SEARCH,
        {"input": {"flight": flight("LH", "FRA", "VIE", "ECONOMY"), "cashFares": fares}},
        token=token,
    )
    offers = group["data"]["searchAwardFlights"]["offers"]
    # 129 x 80 = 10,320 -> 10,500; 189 x 80 x 115 % -> 17,500; 389 x 80 x 140 % = 43,568 -> 44,000
    assert [(o["pricing"], o["fareFamily"], o["miles"]) for o in offers] == [
        ("DYNAMIC", "LIGHT", 10_500),
        ("DYNAMIC", "CLASSIC", 17_500),
        ("DYNAMIC", "FLEX", 44_000),
    ]
    assert not offers[0]["longHaul"] and offers[1]["cashFareEur"] == "189.00"
    refused = await gql(client, SEARCH, {"input": {"flight": flight("LH", "FRA", "VIE")}}, token=token)
    assert refused["data"]["searchAwardFlights"] == {
        "__typename": "InputError",
        "code": "FARE_FAMILY_REQUIRED",
        "field": "fareFamily",
    }


async def test_above_10000_miles_without_app_2fa_a_search_needs_the_emailed_code(client: AsyncClient) -> None:
    enrolled, account_id = await member_with_miles(client, THRESHOLD + 1)
    token = enrolled["accessToken"]
    search = {"flight": flight()}

    asked = (await gql(client, SEARCH, {"input": search}, token=token))["data"]["searchAwardFlights"]
    assert asked["__typename"] == "IdentityConfirmationRequired" and asked["codeSent"] is True
    code = await identity_code(client, asked["checkId"])
    wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)

    def confirmed(typed: str) -> dict[str, object]:
        return {"input": {**search, "identityConfirmation": {"checkId": asked["checkId"], "code": typed}}}

    refused = (await gql(client, SEARCH, confirmed(wrong), token=token))["data"]["searchAwardFlights"]
    assert refused["code"] == "IDENTITY_CODE_INVALID"
    found = (await gql(client, SEARCH, confirmed(code), token=token))["data"]["searchAwardFlights"]
    assert found["__typename"] == "AwardOffers" and found["offers"][0]["miles"] == 52_500
    again = (await gql(client, SEARCH, confirmed(code), token=token))["data"]["searchAwardFlights"]
    assert again["code"] == "IDENTITY_CHECK_CLOSED"  # single use
    check = await IdentityCheck.get(public_id=asked["checkId"])
    assert check.account_id == account_id and check.attempts == 2 and check.used_at is not None


async def test_an_expired_or_foreign_code_does_not_confirm(client: AsyncClient) -> None:
    enrolled, _ = await member_with_miles(client, 20_000)
    other, _ = await member_with_miles(client, 20_000, email="other@example.com")
    asked = (await gql(client, SEARCH, {"input": {"flight": flight()}}, token=enrolled["accessToken"]))[
        "data"
    ]["searchAwardFlights"]
    code = await identity_code(client, asked["checkId"])
    confirmation = {"checkId": asked["checkId"], "code": code}
    variables = {"input": {"flight": flight(), "identityConfirmation": confirmation}}

    foreign = await gql(client, SEARCH, variables, token=other["accessToken"])
    assert foreign["data"]["searchAwardFlights"]["code"] == "IDENTITY_CHECK_CLOSED"
    await IdentityCheck.filter(public_id=asked["checkId"]).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    expired = await gql(client, SEARCH, variables, token=enrolled["accessToken"])
    assert expired["data"]["searchAwardFlights"]["code"] == "IDENTITY_CHECK_CLOSED"


async def test_with_app_2fa_on_no_code_is_asked(client: AsyncClient) -> None:
    enrolled, account_id = await member_with_miles(client, 50_000)
    await TotpFactor.create(account_id=account_id, secret_encrypted="x", confirmed_at=dt.datetime.now(dt.UTC))
    found = await gql(client, SEARCH, {"input": {"flight": flight()}}, token=enrolled["accessToken"])
    assert found["data"]["searchAwardFlights"]["__typename"] == "AwardOffers"
    assert await IdentityCheck.all().count() == 0


async def test_booking_is_a_redemption_once_per_request_and_cancellable(client: AsyncClient) -> None:
    enrolled, account_id = await member_with_miles(client, 60_000)
    token = enrolled["accessToken"]
    await TotpFactor.create(account_id=account_id, secret_encrypted="x", confirmed_at=dt.datetime.now(dt.UTC))
    book = {"input": {"flight": flight(), "requestId": "trip-1"}}

    done = (await gql(client, BOOK, book, token=token))["data"]["bookAwardFlight"]
    retried = (await gql(client, BOOK, book, token=token))["data"]["bookAwardFlight"]
    assert done["__typename"] == "AwardFlightBooked" and done["awardMiles"] == 60_000 - 52_500
    assert retried["booking"] == done["booking"]  # the retry books nothing more
    booking = done["booking"]
    assert booking["ticketNumber"].startswith(AWARDS.tickets.stock) and len(booking["ticketNumber"]) == 13
    assert (booking["priceMiles"], booking["miles"], booking["cashEur"]) == (52_500, 52_500, "0.00")
    assert await Posting.filter(account_id=account_id, source=PostingSource.REDEMPTION).count() == 1

    short = await gql(client, BOOK, {"input": {"flight": flight(), "requestId": "trip-2"}}, token=token)
    assert short["data"]["bookAwardFlight"] == {
        "__typename": "InsufficientMiles",
        "required": 52_500,
        "balance": 7_500,
        "missing": 45_000,
    }
    other_flight = {"input": {"flight": flight(origin="FRA"), "requestId": "trip-1"}}
    reused = (await gql(client, BOOK, other_flight, token=token))["data"]["bookAwardFlight"]
    assert reused["code"] == "REQUEST_ID_REUSED"

    cancel = {"input": {"bookingId": booking["id"]}}
    cancelled = (await gql(client, CANCEL, cancel, token=token))["data"]["cancelAwardBooking"]
    assert cancelled == {
        "__typename": "AwardBookingCancelled",
        "awardMiles": 60_000,
        "booking": {"state": "CANCELLED"},
    }
    twice = (await gql(client, CANCEL, cancel, token=token))["data"]["cancelAwardBooking"]
    assert twice == {"__typename": "InputError", "code": "ALREADY_CANCELLED"}
    assert (await verify_ledger()).clean


async def test_cash_and_miles_pays_part_of_the_price_in_euros(client: AsyncClient) -> None:
    enrolled, _ = await member_with_miles(client, THRESHOLD)
    token = enrolled["accessToken"]
    lh = flight(
        "LH", "FRA", "VIE", "ECONOMY", fareFamily="CLASSIC", cashFare={"amount": "189", "currency": "EUR"}
    )
    done = await gql(
        client, BOOK, {"input": {"flight": lh, "requestId": "cm-1", "milesToPay": 3_000}}, token=token
    )
    booking = done["data"]["bookAwardFlight"]["booking"]
    # 17,500 miles: 3,000 in miles, 14,500 x EUR 0.01 = EUR 145.00 in cash
    assert (booking["priceMiles"], booking["miles"], booking["cashEur"]) == (17_500, 3_000, "145.00")
    assert done["data"]["bookAwardFlight"]["awardMiles"] == THRESHOLD - 3_000
    off_step = await gql(
        client, BOOK, {"input": {"flight": lh, "requestId": "cm-2", "milesToPay": 3_500}}, token=token
    )
    assert off_step["data"]["bookAwardFlight"] == {
        "__typename": "InputError",
        "code": "MILES_TO_PAY_INVALID",
        "field": "milesToPay",
    }


async def test_a_booking_above_the_threshold_needs_its_own_code(client: AsyncClient) -> None:
    enrolled, account_id = await member_with_miles(client, 200_000)
    token = enrolled["accessToken"]
    book = {"flight": flight(), "requestId": "trip-1"}
    asked = (await gql(client, BOOK, {"input": book}, token=token))["data"]["bookAwardFlight"]
    assert asked["__typename"] == "IdentityConfirmationRequired"
    assert await AwardBooking.all().count() == 0
    code = await identity_code(client, asked["checkId"])
    confirmed = {**book, "identityConfirmation": {"checkId": asked["checkId"], "code": code}}
    done = (await gql(client, BOOK, {"input": confirmed}, token=token))["data"]["bookAwardFlight"]
    assert done["__typename"] == "AwardFlightBooked"
    retried = (await gql(client, BOOK, {"input": confirmed}, token=token))["data"]["bookAwardFlight"]
    assert retried["booking"] == done["booking"]  # a retry of a confirmed booking is answered, not re-asked
    # a search code does not confirm a booking (and a spent booking code nothing)
    asked_search = (await gql(client, SEARCH, {"input": {"flight": flight()}}, token=token))["data"][
        "searchAwardFlights"
    ]
    search_code = await identity_code(client, asked_search["checkId"])
    crossed = {
        "flight": flight(),
        "requestId": "trip-2",
        "identityConfirmation": {"checkId": asked_search["checkId"], "code": search_code},
    }
    refused = (await gql(client, BOOK, {"input": crossed}, token=token))["data"]["bookAwardFlight"]
    assert refused["code"] == "IDENTITY_CHECK_CLOSED"
    assert await AwardBooking.filter(account_id=account_id).count() == 1


async def test_booking_needs_a_fresh_sign_in(client: AsyncClient, app: Starlette) -> None:
    enrolled, _ = await member_with_miles(client, THRESHOLD)
    token = await identified_token(app, enrolled["accountNumber"])
    result = await gql(client, BOOK, {"input": {"flight": flight(), "requestId": "r"}}, token=token)
    assert result["data"]["bookAwardFlight"]["__typename"] == "StepUpRequired"
    assert await AwardBooking.all().count() == 0


async def test_the_member_pages_through_their_bookings(client: AsyncClient) -> None:
    enrolled, account_id = await member_with_miles(client, 200_000)
    token = enrolled["accessToken"]
    await TotpFactor.create(account_id=account_id, secret_encrypted="x", confirmed_at=dt.datetime.now(dt.UTC))
    for number in range(3):
        await gql(client, BOOK, {"input": {"flight": flight(), "requestId": f"r{number}"}}, token=token)
    first = (await gql(client, BOOKINGS, {"first": 2}, token=token))["data"]["me"]["awardBookings"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"] is True
    rest = await gql(client, BOOKINGS, {"first": 2, "after": first["pageInfo"]["endCursor"]}, token=token)
    page = rest["data"]["me"]["awardBookings"]
    assert len(page["edges"]) == 1 and page["pageInfo"]["hasNextPage"] is False
    ids = [edge["node"]["id"] for edge in [*first["edges"], *page["edges"]]]
    assert ids == sorted(ids, key=int, reverse=True)  # newest first, none twice
    # the shared id-keyed cursor of loyalty.paging (bookings are ordered by id)
    assert first["pageInfo"]["endCursor"] == id_cursor(int(first["edges"][-1]["node"]["id"]))
    bad = await gql(client, BOOKINGS, {"first": 2, "after": "bm9wZQ=="}, token=token)
    assert bad["errors"][0]["extensions"]["code"] == "CURSOR_INVALID"


async def test_past_three_open_codes_no_more_mail_goes_out(client: AsyncClient) -> None:
    enrolled, account_id = await member_with_miles(client, 20_000)
    limit = AWARDS.identity_check.max_open_checks
    answers = [
        (await gql(client, SEARCH, {"input": {"flight": flight()}}, token=enrolled["accessToken"]))["data"][
            "searchAwardFlights"
        ]
        for _ in range(limit + 1)
    ]
    assert [answer["codeSent"] for answer in answers] == [True] * limit + [False]
    assert answers[-1]["checkId"] == answers[-2]["checkId"]
    assert await IdentityCheck.filter(account_id=account_id).count() == limit
