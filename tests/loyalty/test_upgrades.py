"""Upgrade quotes (DOMAIN.md 3.5): prices by regions and cabins, only on eligible operating carriers."""

from __future__ import annotations

import pytest

from loyalty.earning.errors import UnknownAirport, UpgradeNotAvailable
from loyalty.earning.model import Cabin, Region, RuleCode
from loyalty.earning.upgrades import quote_upgrade
from partners.charts import current_earning_chart

CHART = current_earning_chart()


def quote(
    origin: str,
    destination: str,
    from_cabin: Cabin = Cabin.ECONOMY,
    to_cabin: Cabin = Cabin.BUSINESS,
    *,
    carrier: str = "LH",
    marketing: str | None = None,
):
    return quote_upgrade(
        origin=origin,
        destination=destination,
        operating_carrier=carrier,
        marketing_carrier=marketing,
        flight_number="456",
        from_cabin=from_cabin,
        to_cabin=to_cabin,
        chart=CHART,
    )


@pytest.mark.parametrize(
    ("origin", "destination", "from_cabin", "to_cabin", "carrier", "miles", "evouchers"),
    [
        ("FRA", "LAX", Cabin.ECONOMY, Cabin.BUSINESS, "LH", 35_000, 2),  # the DOMAIN.md example
        ("LAX", "FRA", Cabin.ECONOMY, Cabin.BUSINESS, "LH", 35_000, 2),  # either direction
        ("FRA", "MUC", Cabin.ECONOMY, Cabin.BUSINESS, "LH", 10_000, None),  # within Europe
        ("ZRH", "LIS", Cabin.ECONOMY, Cabin.BUSINESS, "LX", 10_000, None),
        ("WAW", "VIE", Cabin.ECONOMY, Cabin.BUSINESS, "LO", 10_000, None),
        ("MUC", "ORD", Cabin.BUSINESS, Cabin.FIRST, "LH", 50_000, None),
    ],
)
def test_upgrade_prices(
    origin: str,
    destination: str,
    from_cabin: Cabin,
    to_cabin: Cabin,
    carrier: str,
    miles: int,
    evouchers: int | None,
) -> None:
    result = quote(origin, destination, from_cabin, to_cabin, carrier=carrier)
    assert (result.miles, result.evouchers) == (miles, evouchers)
    assert result.rule.code is RuleCode.UPGRADE_PRICE and f"{miles:,} miles" in result.rule.text
    assert result.chart_version.startswith("upgrades 2025.1")
    assert result.distance_miles > 0


def test_a_quote_names_the_regions() -> None:
    result = quote("FRA", "LAX")
    assert (result.origin_region, result.destination_region) == (Region.EUROPE, Region.NORTH_AMERICA)


@pytest.mark.parametrize(
    ("carrier", "marketing", "field"),
    [
        ("UA", None, "flight.operatingCarrier"),  # Star Alliance, not an upgrade carrier
        ("EW", None, "flight.operatingCarrier"),  # Lufthansa Group, but not on the list
        ("UA", "LH", "flight.operatingCarrier"),  # LH codeshare operated by UA
        ("LH", "LX", "flight.marketingCarrier"),  # operated by LH, but under another airline's number
    ],
)
def test_only_eligible_operating_carriers_with_their_own_number(
    carrier: str, marketing: str | None, field: str
) -> None:
    with pytest.raises(UpgradeNotAvailable) as raised:
        quote("FRA", "MUC", carrier=carrier, marketing=marketing)
    assert (raised.value.code, raised.value.field) == ("UPGRADE_CARRIER_NOT_ELIGIBLE", field)


@pytest.mark.parametrize(
    ("origin", "destination", "from_cabin", "to_cabin", "code"),
    [
        ("FRA", "MUC", Cabin.BUSINESS, Cabin.ECONOMY, "UPGRADE_CABIN_ORDER"),
        ("FRA", "MUC", Cabin.BUSINESS, Cabin.BUSINESS, "UPGRADE_CABIN_ORDER"),
        ("FRA", "JNB", Cabin.ECONOMY, Cabin.BUSINESS, "UPGRADE_NOT_OFFERED"),
        ("FRA", "MUC", Cabin.BUSINESS, Cabin.FIRST, "UPGRADE_NOT_OFFERED"),
    ],
)
def test_cabin_changes_without_a_price(
    origin: str, destination: str, from_cabin: Cabin, to_cabin: Cabin, code: str
) -> None:
    with pytest.raises(UpgradeNotAvailable) as raised:
        quote(origin, destination, from_cabin, to_cabin)
    assert raised.value.code == code


def test_unknown_airport() -> None:
    with pytest.raises(UnknownAirport) as raised:
        quote("FRA", "ZZZ")
    assert raised.value.field == "flight.destination"
