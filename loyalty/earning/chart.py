"""The earning chart: every number the calculator uses, as checked, immutable data.

Built from the data files under ``partners/charts`` by :func:`loyalty.earning.chart_files.parse_chart`;
the calculator never reads a number from anywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from loyalty.earning.errors import UnknownCurrency
from loyalty.earning.model import Cabin, Money, Region
from loyalty.members.models import Tier


class CarrierBasis(StrEnum):
    """Which carrier of a segment decides whether it earns Qualifying and HON Circle Points."""

    OPERATING = "OPERATING"
    MARKETING = "MARKETING"
    EITHER = "EITHER"


@dataclass(frozen=True, slots=True)
class CabinPoints:
    continental: int
    intercontinental: int

    def for_segment(self, *, continental: bool) -> int:
        return self.continental if continental else self.intercontinental


@dataclass(frozen=True, slots=True)
class Airline:
    """A partner airline: its flights earn award miles and Points; ``qualifying`` ones also QP and HCP."""

    designator: str
    name: str
    distance_chart: str
    qualifying: bool


@dataclass(frozen=True, slots=True)
class DistanceChart:
    """Per cent of the great-circle distance earned as award miles, by booking class."""

    name: str
    description: str
    percent: Mapping[str, int]
    other_classes_percent: int

    def percent_for(self, booking_class: str) -> int:
        return self.percent.get(booking_class, self.other_classes_percent)


@dataclass(frozen=True, slots=True)
class RevenueFactor:
    """Award miles per EUR for these tiers, on these operating carriers (None: any carrier)."""

    tiers: frozenset[Tier]
    operating_carriers: frozenset[str] | None
    miles_per_eur: Decimal

    def matches(self, tier: Tier, operating_carrier: str) -> bool:
        if tier not in self.tiers:
            return False
        return self.operating_carriers is None or operating_carrier in self.operating_carriers


@dataclass(frozen=True, slots=True)
class RevenueRules:
    """Revenue-based earning for tickets issued by a Lufthansa Group airline."""

    ticket_stocks: frozenset[str]
    issuing_airlines: frozenset[str]
    factors: tuple[RevenueFactor, ...]

    def issued_by_group(self, issuer: str) -> bool:
        return issuer in self.ticket_stocks or issuer in self.issuing_airlines

    def factor(self, tier: Tier, operating_carrier: str) -> RevenueFactor:
        """The first matching row; the loader guarantees every tier has a default row."""
        return next(row for row in self.factors if row.matches(tier, operating_carrier))


@dataclass(frozen=True, slots=True)
class RegionTable:
    version: str
    by_country: Mapping[str, Region]

    def region_of(self, country: str) -> Region | None:
        return self.by_country.get(country)


@dataclass(frozen=True, slots=True)
class UpgradePrice:
    regions: frozenset[Region]
    """The two regions the segment connects; one element when both ends are in the same region."""
    from_cabin: Cabin
    to_cabin: Cabin
    miles: int
    evouchers: int | None


@dataclass(frozen=True, slots=True)
class UpgradeChart:
    version: str
    carriers: frozenset[str]
    prices: tuple[UpgradePrice, ...]

    def price(self, regions: frozenset[Region], from_cabin: Cabin, to_cabin: Cabin) -> UpgradePrice | None:
        return next(
            (
                price
                for price in self.prices
                if price.regions == regions and price.from_cabin is from_cabin and price.to_cabin is to_cabin
            ),
            None,
        )


@dataclass(frozen=True, slots=True)
class RateTable:
    """Units of each currency per 1 EUR, as of ``version`` (the rates' date)."""

    version: str
    per_eur: Mapping[str, Decimal]

    def to_eur(self, money: Money, *, field: str) -> tuple[Decimal, Decimal]:
        """The amount in EUR (not rounded) and the rate used."""
        rate = self.per_eur.get(money.currency)
        if rate is None:
            raise UnknownCurrency(money.currency, field=field)
        return money.amount / rate, rate


@dataclass(frozen=True, slots=True)
class EarningChart:
    """Every earning number: Points per segment, QP/HCP eligibility, revenue factors, distance charts,
    partner airlines, regions, upgrade prices and conversion rates."""

    earning_version: str
    effective_from: dt.date
    points_per_segment: Mapping[Cabin, CabinPoints]
    carrier_basis: CarrierBasis
    hon_circle_cabins: frozenset[Cabin]
    revenue: RevenueRules
    distance_charts: Mapping[str, DistanceChart]
    airlines: Mapping[str, Airline]
    regions: RegionTable
    upgrades: UpgradeChart
    rates: RateTable

    @property
    def version(self) -> str:
        """The versions of the files a calculation used, e.g. ``earning 2024.1 · regions 2024.1 · rates 2026-11-20``."""
        return f"earning {self.earning_version} · regions {self.regions.version} · rates {self.rates.version}"

    @property
    def upgrade_version(self) -> str:
        return f"upgrades {self.upgrades.version} · regions {self.regions.version}"

    def airline(self, designator: str) -> Airline | None:
        return self.airlines.get(designator)

    def distance_chart_of(self, airline: Airline) -> DistanceChart:
        return self.distance_charts[airline.distance_chart]

    def earns_qualifying(self, *, operating_carrier: str, marketing_carrier: str) -> bool:
        def qualifying(designator: str) -> bool:
            airline = self.airlines.get(designator)
            return airline is not None and airline.qualifying

        if self.carrier_basis is CarrierBasis.OPERATING:
            return qualifying(operating_carrier)
        if self.carrier_basis is CarrierBasis.MARKETING:
            return qualifying(marketing_carrier)
        return qualifying(operating_carrier) or qualifying(marketing_carrier)
