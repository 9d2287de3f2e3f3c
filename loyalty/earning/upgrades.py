"""Upgrade quotes (DOMAIN.md 3.5): award miles for a cabin change on one flight segment.

Upgrades with miles exist only on flights operated, with their own flight number, by the carriers of
the upgrade chart; the price depends on the regions the segment connects and on the two cabins.
"""

from __future__ import annotations

from loyalty.earning import validation
from loyalty.earning.airports import AirportDirectory, airport_directory, great_circle_miles
from loyalty.earning.chart import EarningChart
from loyalty.earning.errors import UpgradeNotAvailable
from loyalty.earning.model import AppliedRule, Cabin, RuleCode, UpgradeQuote
from loyalty.earning.validation import FlightCodes


def quote_upgrade(
    *,
    origin: str,
    destination: str,
    operating_carrier: str,
    marketing_carrier: str | None,
    flight_number: str,
    from_cabin: Cabin,
    to_cabin: Cabin,
    chart: EarningChart,
    airports: AirportDirectory | None = None,
) -> UpgradeQuote:
    """Miles (and eVouchers where offered) to move from ``from_cabin`` to ``to_cabin`` on this flight.

    Raises :class:`UpgradeNotAvailable` with code ``UPGRADE_CABIN_ORDER`` (not a higher cabin),
    ``UPGRADE_CARRIER_NOT_ELIGIBLE`` (not operated under its own number by an upgrade carrier) or
    ``UPGRADE_NOT_OFFERED`` (no price for these regions and cabins); unknown airports and malformed
    codes raise as in :func:`~loyalty.earning.calculator.compute_earning`.
    """
    segment = validation.flight_codes(
        origin=origin,
        destination=destination,
        operating_carrier=operating_carrier,
        marketing_carrier=marketing_carrier or operating_carrier,
        flight_number=flight_number,
        field="flight",
    )
    if to_cabin.rank <= from_cabin.rank:
        raise UpgradeNotAvailable(
            f"{to_cabin.value} is not a higher cabin than {from_cabin.value}.",
            field="toCabin",
            code="UPGRADE_CABIN_ORDER",
        )
    _check_carrier(segment, chart)
    directory = airports or airport_directory()
    origin_airport = directory.get(segment.origin, field="flight.origin")
    destination_airport = directory.get(segment.destination, field="flight.destination")
    origin_region = chart.regions.region_of(origin_airport.country)
    destination_region = chart.regions.region_of(destination_airport.country)
    price = None
    if origin_region is not None and destination_region is not None:
        price = chart.upgrades.price(frozenset({origin_region, destination_region}), from_cabin, to_cabin)
    if price is None or origin_region is None or destination_region is None:
        raise UpgradeNotAvailable(
            f"No upgrade from {from_cabin.value} to {to_cabin.value} is offered between "
            f"{segment.origin} and {segment.destination}.",
            field="toCabin",
            code="UPGRADE_NOT_OFFERED",
        )
    evouchers = "" if price.evouchers is None else f" or {price.evouchers} eVouchers"
    rule = AppliedRule(
        RuleCode.UPGRADE_PRICE,
        f"{from_cabin.value} to {to_cabin.value}, {origin_region.value}-{destination_region.value}, "
        f"operated by {segment.operating_carrier}: {price.miles:,} miles{evouchers}, one way.",
    )
    return UpgradeQuote(
        chart_version=chart.upgrade_version,
        origin=segment.origin,
        destination=segment.destination,
        operating_carrier=segment.operating_carrier,
        flight_number=segment.flight_number,
        distance_miles=great_circle_miles(origin_airport, destination_airport),
        from_cabin=from_cabin,
        to_cabin=to_cabin,
        origin_region=origin_region,
        destination_region=destination_region,
        miles=price.miles,
        evouchers=price.evouchers,
        rule=rule,
    )


def _check_carrier(segment: FlightCodes, chart: EarningChart) -> None:
    carrier = segment.operating_carrier
    if carrier not in chart.upgrades.carriers:
        raise UpgradeNotAvailable(
            f"Upgrades with miles are offered only on flights operated by "
            f"{', '.join(sorted(chart.upgrades.carriers))}; this one is operated by {carrier}.",
            field="flight.operatingCarrier",
            code="UPGRADE_CARRIER_NOT_ELIGIBLE",
        )
    if segment.marketing_carrier != carrier:
        raise UpgradeNotAvailable(
            f"Only flights with the operating carrier's own flight number can be upgraded, "
            f"not a {segment.marketing_carrier} codeshare.",
            field="flight.marketingCarrier",
            code="UPGRADE_CARRIER_NOT_ELIGIBLE",
        )
