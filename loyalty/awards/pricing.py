"""What an award flight costs in miles (DOMAIN.md 7), and how Cash & Miles splits it. Pure rules, no I/O.

Two kinds of price:

- the Lufthansa Group carriers of ``[dynamic] carriers`` (LH, LX, OS, LH City) are priced dynamically:
  miles from the cash fare (converted to EUR) and the fare family, by a :class:`DynamicPricingRule`. The rule
  is an interface; ``[dynamic] rule`` names the one in use (:data:`RULES`);
- every other partner airline by the zone chart: the zones of the two airports and the cabin.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol

from loyalty.awards.config import (
    AwardRules,
    CashAndMilesRules,
    DynamicPricingRules,
    FareFamily,
    FareFamilyFactor,
)
from loyalty.earning.airports import Airport
from loyalty.earning.chart import RateTable
from loyalty.earning.model import Cabin, Money
from loyalty.errors import ValidationFailed

_CARRIER = re.compile(r"^[A-Z0-9]{2}$")
_FLIGHT_NUMBER = re.compile(r"^[0-9]{1,4}[A-Z]?$")
CENT = Decimal("0.01")
MAX_FARE_DIGITS = 9
"""A technical bound, not a programme rule: cash fares below one billion (the miles stay far inside the
ledger's 64-bit amounts)."""


class PricingMethod(StrEnum):
    """How an award's miles were found: DYNAMIC (Lufthansa Group: cash fare and fare family) or ZONE_CHART."""

    DYNAMIC = "DYNAMIC"
    ZONE_CHART = "ZONE_CHART"


class DynamicPricingRule(Protocol):
    """Miles for a Lufthansa Group award from its cash fare in EUR and its fare family."""

    @property
    def name(self) -> str: ...

    def miles(self, *, fare_eur: Decimal, fare_family: FareFamily) -> int: ...


@dataclass(frozen=True, slots=True)
class FareFamilyFactorRule:
    """``fare_family_factor``: fare x miles per EUR x the family's per cent, rounded up to a step, with a
    floor. FRA-VIE Economy Classic at EUR 189: 189 x 80 x 115 % = 17,388, rounded up to 17,500 miles."""

    factor: FareFamilyFactor
    name: str = "fare_family_factor"

    def miles(self, *, fare_eur: Decimal, fare_family: FareFamily) -> int:
        raw = fare_eur * self.factor.miles_per_eur * self.factor.percent[fare_family] / 100
        step = self.factor.rounding_miles
        rounded = int((raw / step).to_integral_value(rounding=ROUND_CEILING)) * step
        return max(rounded, self.factor.minimum_miles)


RULES: Mapping[str, Callable[[DynamicPricingRules], DynamicPricingRule]] = {
    "fare_family_factor": lambda rules: FareFamilyFactorRule(factor=rules.fare_family_factor),
}
"""The dynamic rules by the name ``[dynamic] rule`` gives (the loader accepts only these names)."""


@dataclass(frozen=True, slots=True)
class AwardFlight:
    """One flight segment asked for as an award."""

    carrier: str
    flight_number: str
    origin: str
    destination: str
    departure_date: dt.date
    cabin: Cabin
    fare_family: FareFamily | None = None
    cash_fare: Money | None = None


@dataclass(frozen=True, slots=True)
class AwardQuote:
    """The flight's price in award miles and how it was found."""

    flight: AwardFlight
    pricing: PricingMethod
    miles: int
    origin_zone: str
    destination_zone: str
    long_haul: bool
    fare_eur: Decimal | None
    """The cash fare in EUR a dynamic price came from (None for the zone chart)."""
    rule_version: str


@dataclass(frozen=True, slots=True)
class Payment:
    """How a booking pays its price: award miles, and (Cash & Miles) the rest in euros."""

    miles: int
    cash_eur: Decimal


def check_flight(flight: AwardFlight, *, today: dt.date) -> AwardFlight:
    """The flight with codes in upper case; a malformed one is refused naming its field."""
    carrier = flight.carrier.strip().upper()
    number = flight.flight_number.strip().upper().lstrip("0") or "0"
    origin, destination = flight.origin.strip().upper(), flight.destination.strip().upper()
    if not _CARRIER.match(carrier):
        raise ValidationFailed(
            "An airline designator is 2 letters or digits.", field="carrier", code="CARRIER_INVALID"
        )
    if not _FLIGHT_NUMBER.match(number):
        raise ValidationFailed(
            "A flight number is 1 to 4 digits and an optional letter.",
            field="flightNumber",
            code="FLIGHT_NUMBER_INVALID",
        )
    if origin == destination:
        raise ValidationFailed(
            "Origin and destination are the same airport.", field="destination", code="SAME_AIRPORT"
        )
    if flight.departure_date < today:
        raise ValidationFailed(
            "The flight departs in the past.", field="departureDate", code="DEPARTURE_IN_PAST"
        )
    return AwardFlight(
        carrier=carrier,
        flight_number=number,
        origin=origin,
        destination=destination,
        departure_date=flight.departure_date,
        cabin=flight.cabin,
        fare_family=flight.fare_family,
        cash_fare=flight.cash_fare,
    )


def _zone(airport: Airport, rules: AwardRules, field: str) -> str:
    zone = rules.zone_chart.zone_of(airport=airport.code, country=airport.country)
    if zone is None:
        raise ValidationFailed(f"{airport.code} is in no award zone.", field=field, code="AWARD_NOT_OFFERED")
    return zone


def is_dynamic(carrier: str, rules: AwardRules) -> bool:
    return carrier.upper() in rules.dynamic.carriers


def fare_families(*, long_haul: bool, rules: DynamicPricingRules) -> tuple[FareFamily, ...]:
    return rules.long_haul_fare_families if long_haul else rules.continental_fare_families


def _dynamic_miles(
    flight: AwardFlight, *, long_haul: bool, rules: AwardRules, rates: RateTable
) -> tuple[int, Decimal]:
    if flight.fare_family is None:
        raise ValidationFailed(
            "A Lufthansa Group award is priced from its fare family: give one.",
            field="fareFamily",
            code="FARE_FAMILY_REQUIRED",
        )
    offered = fare_families(long_haul=long_haul, rules=rules.dynamic)
    if flight.fare_family not in offered:
        raise ValidationFailed(
            f"On this flight the fare families are {', '.join(family.value for family in offered)}.",
            field="fareFamily",
            code="FARE_FAMILY_NOT_OFFERED",
        )
    if flight.cash_fare is None:
        raise ValidationFailed(
            "A Lufthansa Group award is priced from the cash fare: give it.",
            field="cashFare",
            code="CASH_FARE_REQUIRED",
        )
    amount = flight.cash_fare.amount
    if not amount.is_finite() or amount <= 0 or amount.adjusted() >= MAX_FARE_DIGITS:
        raise ValidationFailed(
            "The cash fare is a positive amount below one billion.",
            field="cashFare",
            code="CASH_FARE_INVALID",
        )
    fare = Money(amount=amount, currency=flight.cash_fare.currency.strip().upper())
    fare_eur, _ = rates.to_eur(fare, field="cashFare")
    rule = RULES[rules.dynamic.rule](rules.dynamic)
    return rule.miles(fare_eur=fare_eur, fare_family=flight.fare_family), fare_eur.quantize(
        CENT, ROUND_HALF_UP
    )


def quote_award(
    flight: AwardFlight, *, origin: Airport, destination: Airport, rules: AwardRules, rates: RateTable
) -> AwardQuote:
    """The flight's miles: dynamic for the Lufthansa Group, else the zone chart's price for the cabin."""
    origin_zone = _zone(origin, rules, "origin")
    destination_zone = _zone(destination, rules, "destination")
    continental = rules.dynamic.continental_zones
    long_haul = not (origin_zone in continental and destination_zone in continental)
    fare_eur: Decimal | None = None
    if is_dynamic(flight.carrier, rules):
        miles, fare_eur = _dynamic_miles(flight, long_haul=long_haul, rules=rules, rates=rates)
        method = PricingMethod.DYNAMIC
    else:
        price = rules.zone_chart.price(origin_zone, destination_zone, flight.cabin)
        if price is None:
            raise ValidationFailed(
                f"No award in {flight.cabin.value} between {origin_zone} and {destination_zone}.",
                field="cabin",
                code="AWARD_NOT_OFFERED",
            )
        miles, method = price, PricingMethod.ZONE_CHART
    return AwardQuote(
        flight=flight,
        pricing=method,
        miles=miles,
        origin_zone=origin_zone,
        destination_zone=destination_zone,
        long_haul=long_haul,
        fare_eur=fare_eur,
        rule_version=f"awards {rules.version}",
    )


def split_payment(price_miles: int, miles_to_pay: int | None, rules: CashAndMilesRules) -> Payment:
    """All in miles (``miles_to_pay`` None or the whole price), or Cash & Miles: at least the minimum in
    miles, in steps, the rest in euros at the published rate (12,000 of 17,500 miles: EUR 55.00)."""
    if miles_to_pay is None or miles_to_pay == price_miles:
        return Payment(miles=price_miles, cash_eur=Decimal("0.00"))
    if not (rules.minimum_miles <= miles_to_pay < price_miles) or miles_to_pay % rules.step_miles:
        raise ValidationFailed(
            f"Pay {rules.minimum_miles} to {price_miles} miles in steps of {rules.step_miles} (or all of it).",
            field="milesToPay",
            code="MILES_TO_PAY_INVALID",
        )
    cash = ((price_miles - miles_to_pay) * rules.eur_per_mile).quantize(CENT, ROUND_HALF_UP)
    return Payment(miles=miles_to_pay, cash_eur=cash)
