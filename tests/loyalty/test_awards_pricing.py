"""Award prices (DOMAIN.md 7): dynamic for the Lufthansa Group, the zone chart for other partners, Cash &
Miles, and the checks of the awards file. Pure rules: no database."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from typing import Any

import pytest

from loyalty.awards.config import DEFAULT_AWARDS_FILE, AwardsInvalid, FareFamily, current_awards, parse_awards
from loyalty.awards.milespay import miles_for
from loyalty.awards.pricing import AwardFlight, PricingMethod, check_flight, quote_award, split_payment
from loyalty.earning.airports import airport_directory
from loyalty.earning.model import Cabin, Money
from loyalty.errors import DomainError
from partners.charts import current_earning_chart

AWARDS = current_awards()
RATES = current_earning_chart().rates
DAY = dt.date(2026, 12, 20)


def _quote(
    carrier: str,
    origin: str,
    destination: str,
    cabin: Cabin,
    family: FareFamily | None = None,
    fare: Money | None = None,
):
    airports = airport_directory()
    flight = AwardFlight(
        carrier=carrier,
        flight_number="400",
        origin=origin,
        destination=destination,
        departure_date=DAY,
        cabin=cabin,
        fare_family=family,
        cash_fare=fare,
    )
    return quote_award(
        flight,
        origin=airports.get(origin, field="origin"),
        destination=airports.get(destination, field="destination"),
        rules=AWARDS,
        rates=RATES,
    )


def _code(call: Any) -> str:
    with pytest.raises(DomainError) as raised:
        call()
    return raised.value.code


def test_the_shipped_file_carries_domains_numbers() -> None:
    # DOMAIN.md 2: more than 10,000 miles; 7: LH, LX, OS, LH City dynamic; 11 zones; from 3,000 miles.
    assert AWARDS.identity_check.balance_above_miles == 10_000
    assert AWARDS.dynamic.carriers == {"LH", "LX", "OS", "VL"}
    assert AWARDS.dynamic.continental_fare_families == (FareFamily.LIGHT, FareFamily.CLASSIC, FareFamily.FLEX)
    assert AWARDS.dynamic.long_haul_fare_families == (
        FareFamily.LIGHT,
        FareFamily.BASIC,
        FareFamily.BASIC_PLUS,
        FareFamily.FLEX,
    )
    assert len(AWARDS.zone_chart.zones) == 11
    assert AWARDS.cash_and_miles.minimum_miles == AWARDS.milespay.minimum_miles == 3_000


def test_lufthansa_group_is_priced_from_the_cash_fare_and_fare_family() -> None:
    # The README's worked example: FRA-VIE Economy Classic at EUR 189 = 189 x 80 x 115 % = 17,388 -> 17,500.
    quote = _quote("LH", "FRA", "VIE", Cabin.ECONOMY, FareFamily.CLASSIC, Money(Decimal("189"), "EUR"))
    assert (quote.pricing, quote.miles, quote.long_haul) == (PricingMethod.DYNAMIC, 17_500, False)
    flex = _quote("OS", "FRA", "VIE", Cabin.ECONOMY, FareFamily.FLEX, Money(Decimal("189"), "EUR"))
    assert flex.miles == 21_500  # 189 x 80 x 140 % = 21,168 -> 21,500: Flex costs more miles
    cheap = _quote("LX", "ZRH", "GVA", Cabin.ECONOMY, FareFamily.LIGHT, Money(Decimal("19"), "EUR"))
    assert cheap.miles == 3_000  # 1,520 raised to the rule's floor


def test_a_fare_in_another_currency_is_converted_at_the_daily_rate() -> None:
    eur = _quote("LH", "FRA", "JFK", Cabin.ECONOMY, FareFamily.BASIC, Money(Decimal("1085"), "EUR"))
    usd = _quote(
        "LH",
        "FRA",
        "JFK",
        Cabin.ECONOMY,
        FareFamily.BASIC,
        Money(Decimal("1085") * RATES.per_eur["USD"], "USD"),
    )
    assert eur.miles == usd.miles == 95_500  # 1,085 x 80 x 110 % = 95,480 -> 95,500
    assert usd.fare_eur == Decimal("1085.00") and usd.long_haul


def test_fare_families_follow_the_haul() -> None:
    fare = Money(Decimal("500"), "EUR")
    assert (
        _code(lambda: _quote("LH", "FRA", "JFK", Cabin.ECONOMY, FareFamily.CLASSIC, fare))
        == "FARE_FAMILY_NOT_OFFERED"
    )
    assert (
        _code(lambda: _quote("LH", "FRA", "VIE", Cabin.ECONOMY, FareFamily.BASIC_PLUS, fare))
        == "FARE_FAMILY_NOT_OFFERED"
    )
    assert _code(lambda: _quote("LH", "FRA", "VIE", Cabin.ECONOMY, None, fare)) == "FARE_FAMILY_REQUIRED"
    assert _code(lambda: _quote("LH", "FRA", "VIE", Cabin.ECONOMY, FareFamily.FLEX)) == "CASH_FARE_REQUIRED"
    assert (
        _code(lambda: _quote("LH", "FRA", "VIE", Cabin.ECONOMY, FareFamily.FLEX, Money(Decimal("5"), "XXX")))
        == "UNKNOWN_CURRENCY"
    )
    for amount in ("0", "-5", "NaN", "Infinity", "1e9"):
        fare = Money(Decimal(amount), "EUR")
        assert _code(lambda fare=fare: _quote("LH", "FRA", "VIE", Cabin.ECONOMY, FareFamily.FLEX, fare)) == (
            "CASH_FARE_INVALID"
        )
    lower = _quote("LH", "FRA", "VIE", Cabin.ECONOMY, FareFamily.CLASSIC, Money(Decimal("189"), "eur"))
    assert lower.miles == 17_500


@pytest.mark.parametrize(
    ("carrier", "origin", "destination", "cabin", "miles", "zones"),
    [
        ("UA", "MUC", "ORD", Cabin.BUSINESS, 52_500, ("EUROPE", "NORTH_AMERICA")),
        ("UA", "ORD", "MUC", Cabin.BUSINESS, 52_500, ("NORTH_AMERICA", "EUROPE")),  # either direction
        ("SQ", "FRA", "SIN", Cabin.FIRST, 107_500, ("EUROPE", "SOUTHEAST_ASIA")),
        ("UA", "FRA", "HNL", Cabin.ECONOMY, 40_000, ("EUROPE", "HAWAII")),  # an airport in its own zone
        ("TK", "IST", "BCN", Cabin.ECONOMY, 15_000, ("EUROPE", "EUROPE")),
        ("NH", "NRT", "SYD", Cabin.ECONOMY, None, ("CENTRAL_ASIA_FAR_EAST", "AUSTRALIA_NEW_ZEALAND")),
    ],
)
def test_other_partners_use_the_zone_chart(
    carrier: str, origin: str, destination: str, cabin: Cabin, miles: int | None, zones: tuple[str, str]
) -> None:
    if miles is None:  # a pair the chart does not price
        assert _code(lambda: _quote(carrier, origin, destination, cabin)) == "AWARD_NOT_OFFERED"
        return
    quote = _quote(carrier, origin, destination, cabin)
    assert (quote.pricing, quote.miles, (quote.origin_zone, quote.destination_zone)) == (
        PricingMethod.ZONE_CHART,
        miles,
        zones,
    )


def test_a_cabin_the_pair_does_not_price_is_not_offered() -> None:
    assert _code(lambda: _quote("TK", "IST", "BCN", Cabin.PREMIUM_ECONOMY)) == "AWARD_NOT_OFFERED"


def test_a_flight_is_checked_before_it_is_priced() -> None:
    flight = AwardFlight("lh", "0400", "fra", "vie", DAY, Cabin.ECONOMY)
    assert check_flight(flight, today=DAY) == AwardFlight("LH", "400", "FRA", "VIE", DAY, Cabin.ECONOMY)
    assert _code(lambda: check_flight(flight, today=DAY + dt.timedelta(days=1))) == "DEPARTURE_IN_PAST"
    same = AwardFlight("LH", "400", "FRA", "FRA", DAY, Cabin.ECONOMY)
    assert _code(lambda: check_flight(same, today=DAY)) == "SAME_AIRPORT"
    assert (
        _code(lambda: check_flight(AwardFlight("LUH", "4", "FRA", "VIE", DAY, Cabin.ECONOMY), today=DAY))
        == "CARRIER_INVALID"
    )


def test_cash_and_miles_pays_the_rest_at_the_published_rate() -> None:
    rules = AWARDS.cash_and_miles
    assert split_payment(17_500, None, rules).miles == 17_500
    part = split_payment(17_500, 12_000, rules)
    assert (part.miles, part.cash_eur) == (12_000, Decimal("55.00"))  # 5,500 miles x EUR 0.01
    assert split_payment(17_500, 3_000, rules).cash_eur == Decimal("145.00")
    for wrong in (2_000, 12_500, 18_000):  # below the minimum, off the steps, above the price
        assert _code(lambda wrong=wrong: split_payment(17_500, wrong, rules)) == "MILES_TO_PAY_INVALID"


def test_milespay_takes_the_purchase_up_to_cap_and_balance() -> None:
    rules = AWARDS.milespay
    assert miles_for(Decimal("45.67"), cap_miles=10_000, balance=50_000, rules=rules) == 4_567
    assert miles_for(Decimal("450"), cap_miles=10_000, balance=50_000, rules=rules) == 10_000
    assert miles_for(Decimal("450"), cap_miles=10_000, balance=6_000, rules=rules) == 6_000
    assert miles_for(Decimal("29.99"), cap_miles=10_000, balance=50_000, rules=rules) == 0  # below 3,000


def _shipped() -> dict[str, Any]:
    with DEFAULT_AWARDS_FILE.open("rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["dynamic"].update(rule="cheapest"), "rule 'cheapest'"),
        (lambda d: d["dynamic"]["fare_family_factor"]["percent"].pop("FLEX"), "percent"),
        (
            lambda d: d["zone_chart"]["zones"]["HAWAII"]["countries"].append("DE"),
            "DE is in EUROPE and HAWAII",
        ),
        (lambda d: d["zone_chart"]["prices"][0].update(zones=["EUROPE", "MARS"]), "zones must name two"),
        (lambda d: d["cash_and_miles"].update(eur_per_mile=0.01), "written as a string"),
        (lambda d: d["identity_check"].pop("code_minutes"), "missing keys ['code_minutes']"),
        (lambda d: d["milespay"].update(maximum_cap_miles=1000), "maximum_cap_miles"),
    ],
)
def test_a_broken_file_is_refused_naming_the_entry(change: Any, message: str) -> None:
    data = _shipped()
    change(data)
    with pytest.raises(AwardsInvalid, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_awards(data)
