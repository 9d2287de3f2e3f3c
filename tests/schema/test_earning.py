"""The miles calculator and upgrade quotes through the real schema: totals, tiers, typed errors."""

from __future__ import annotations

from typing import Any

from httpx2 import AsyncClient

from loyalty.members.models import Member, Tier
from tests.factories import enrolled_member, gql

CALCULATE = """
query Calc($itinerary: ItineraryInput!, $ticket: TicketInput, $tier: Tier) {
  milesCalculator(itinerary: $itinerary, ticket: $ticket, tier: $tier) {
    __typename
    ... on MilesCalculation {
      chartVersion tier awardMiles points qualifyingPoints honCirclePoints distanceMiles eligibleAmountEur
      segments {
        origin destination flightNumber distanceMiles continental originRegion destinationRegion milesMethod
        awardMiles points qualifyingPoints honCirclePoints rules { code text }
      }
    }
    ... on UnknownAirport { code field airportCode message }
    ... on InputError { code field message }
  }
}
"""

UPGRADE = """
query Up($flight: UpgradeFlightInput!, $from: Cabin!, $to: Cabin!) {
  upgradeQuote(flight: $flight, fromCabin: $from, toCabin: $to) {
    __typename
    ... on UpgradeQuote { miles evouchers originRegion destinationRegion chartVersion rule { code text } }
    ... on UpgradeNotAvailable { code field message }
    ... on UnknownAirport { code field }
  }
}
"""


def segment(origin: str, destination: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "origin": origin,
        "destination": destination,
        "operatingCarrier": "LH",
        "flightNumber": "0400",
        "bookingClass": "C",
        "cabin": "BUSINESS",
        "date": "2026-06-01",
    }
    data.update(overrides)
    return data


async def calculate(client: AsyncClient, token: str | None = None, **variables: Any) -> dict[str, Any]:
    body = await gql(client, CALCULATE, variables, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["milesCalculator"]
    return result


async def test_ams_fra_jfk_in_business_for_a_signed_out_visitor(client: AsyncClient) -> None:
    # when
    result = await calculate(client, itinerary={"segments": [segment("AMS", "FRA"), segment("FRA", "JFK")]})
    # then
    assert result["__typename"] == "MilesCalculation" and result["tier"] == "BASE"
    assert (result["points"], result["qualifyingPoints"], result["honCirclePoints"]) == (240, 240, 240)
    first, second = result["segments"]
    assert (first["points"], first["continental"], first["originRegion"]) == (40, True, "EUROPE")
    assert (second["points"], second["continental"], second["destinationRegion"]) == (
        200,
        False,
        "NORTH_AMERICA",
    )
    assert second["flightNumber"] == "400" and second["milesMethod"] == "DISTANCE_BASED"
    assert result["awardMiles"] == first["awardMiles"] + second["awardMiles"] > 0
    assert result["distanceMiles"] == first["distanceMiles"] + second["distanceMiles"]
    assert [rule["code"] for rule in second["rules"]] == [
        "DISTANCE_BASED",
        "INTERCONTINENTAL",
        "QUALIFYING_CARRIER",
        "HON_CIRCLE_CABIN",
    ]
    assert result["chartVersion"].startswith("earning ") and result["eligibleAmountEur"] is None


async def test_the_signed_in_members_tier_is_the_default(client: AsyncClient) -> None:
    # given a Senator and a Lufthansa ticket of EUR 400 + 100
    enrolled = await enrolled_member(client)
    await Member.filter(account_number=enrolled["accountNumber"]).update(tier=Tier.SEN)
    variables: dict[str, Any] = {
        "itinerary": {"segments": [segment("FRA", "MUC")]},
        "ticket": {
            "issuer": "220",
            "fare": {"amount": "400.00", "currency": "EUR"},
            "carrierSurcharges": {"amount": "100", "currency": "EUR"},
        },
    }
    # when
    own = await calculate(client, enrolled["accessToken"], **variables)
    anonymous = await calculate(client, **variables)
    asked = await calculate(client, enrolled["accessToken"], tier="BASE", **variables)
    # then: 6 miles per EUR with status on LH, 4 without
    assert (own["tier"], own["awardMiles"], own["eligibleAmountEur"]) == ("SEN", 3000, "500.00")
    assert (anonymous["tier"], anonymous["awardMiles"]) == ("BASE", 2000)
    assert (asked["tier"], asked["awardMiles"]) == ("BASE", 2000)
    assert own["segments"][0]["milesMethod"] == "REVENUE_BASED"


async def test_an_unknown_airport_is_a_typed_error(client: AsyncClient) -> None:
    result = await calculate(client, itinerary={"segments": [segment("FRA", "MUC"), segment("MUC", "QQX")]})
    assert result == {
        "__typename": "UnknownAirport",
        "code": "UNKNOWN_AIRPORT",
        "field": "itinerary.segments[1].destination",
        "airportCode": "QQX",
        "message": "'QQX' is not a known IATA airport code.",
    }


async def test_bad_input_is_an_input_error_naming_the_field(client: AsyncClient) -> None:
    booking = await calculate(client, itinerary={"segments": [segment("FRA", "MUC", bookingClass="C1")]})
    currency = await calculate(
        client,
        itinerary={"segments": [segment("FRA", "MUC")]},
        ticket={"issuer": "LH", "fare": {"amount": "10", "currency": "XYZ"}},
    )
    empty = await calculate(client, itinerary={"segments": []})
    assert (booking["code"], booking["field"]) == (
        "BOOKING_CLASS_INVALID",
        "itinerary.segments[0].bookingClass",
    )
    assert (currency["code"], currency["field"]) == ("UNKNOWN_CURRENCY", "ticket.fare")
    assert (empty["code"], empty["field"]) == ("ITINERARY_EMPTY", "itinerary.segments")


def flight(**overrides: Any) -> dict[str, Any]:
    data = {
        "origin": "FRA",
        "destination": "LAX",
        "operatingCarrier": "LH",
        "flightNumber": "456",
    }
    data.update(overrides)
    return data


async def test_upgrade_quote(client: AsyncClient) -> None:
    body = await gql(client, UPGRADE, {"flight": flight(), "from": "ECONOMY", "to": "BUSINESS"})
    quote = body["data"]["upgradeQuote"]
    assert quote["__typename"] == "UpgradeQuote"
    assert (quote["miles"], quote["evouchers"]) == (35_000, 2)
    assert (quote["originRegion"], quote["destinationRegion"]) == ("EUROPE", "NORTH_AMERICA")
    assert quote["rule"]["code"] == "UPGRADE_PRICE" and quote["chartVersion"].startswith("upgrades ")


async def test_upgrades_only_on_eligible_operating_carriers(client: AsyncClient) -> None:
    united = await gql(
        client, UPGRADE, {"flight": flight(operatingCarrier="UA"), "from": "ECONOMY", "to": "BUSINESS"}
    )
    codeshare = await gql(
        client, UPGRADE, {"flight": flight(marketingCarrier="LX"), "from": "ECONOMY", "to": "BUSINESS"}
    )
    down = await gql(client, UPGRADE, {"flight": flight(), "from": "BUSINESS", "to": "ECONOMY"})
    unknown = await gql(
        client, UPGRADE, {"flight": flight(origin="QQX"), "from": "ECONOMY", "to": "BUSINESS"}
    )
    assert united["data"]["upgradeQuote"]["code"] == "UPGRADE_CARRIER_NOT_ELIGIBLE"
    assert codeshare["data"]["upgradeQuote"]["field"] == "flight.marketingCarrier"
    assert down["data"]["upgradeQuote"]["code"] == "UPGRADE_CABIN_ORDER"
    assert unknown["data"]["upgradeQuote"] == {
        "__typename": "UnknownAirport",
        "code": "UNKNOWN_AIRPORT",
        "field": "flight.origin",
    }
