"""The calculator's inputs and results: plain, frozen data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from loyalty.members.models import Tier


class Cabin(StrEnum):
    """The travel class of a segment (not the booking class)."""

    ECONOMY = "ECONOMY"
    PREMIUM_ECONOMY = "PREMIUM_ECONOMY"
    BUSINESS = "BUSINESS"
    FIRST = "FIRST"

    @property
    def rank(self) -> int:
        return list(Cabin).index(self)


class Region(StrEnum):
    """The six regions that decide continental versus intercontinental (DOMAIN.md 3.2)."""

    EUROPE = "EUROPE"
    AFRICA = "AFRICA"
    ASIA = "ASIA"
    OCEANIA = "OCEANIA"
    NORTH_AMERICA = "NORTH_AMERICA"
    SOUTH_AMERICA = "SOUTH_AMERICA"


class MilesMethod(StrEnum):
    """How the award miles of a segment were computed."""

    REVENUE_BASED = "REVENUE_BASED"
    DISTANCE_BASED = "DISTANCE_BASED"
    NOT_EARNING = "NOT_EARNING"


class RuleCode(StrEnum):
    """Machine-readable names of the rules a calculation applied."""

    REVENUE_BASED = "REVENUE_BASED"
    DISTANCE_BASED = "DISTANCE_BASED"
    NON_PARTNER_CARRIER = "NON_PARTNER_CARRIER"
    CONTINENTAL = "CONTINENTAL"
    INTERCONTINENTAL = "INTERCONTINENTAL"
    QUALIFYING_CARRIER = "QUALIFYING_CARRIER"
    NON_QUALIFYING_CARRIER = "NON_QUALIFYING_CARRIER"
    HON_CIRCLE_CABIN = "HON_CIRCLE_CABIN"
    NO_HON_CIRCLE_CABIN = "NO_HON_CIRCLE_CABIN"
    UPGRADE_PRICE = "UPGRADE_PRICE"


@dataclass(frozen=True, slots=True)
class AppliedRule:
    """One rule a calculation applied: a code for machines and a sentence with the numbers used."""

    code: RuleCode
    text: str


@dataclass(frozen=True, slots=True)
class FlightSegment:
    """One flight of an itinerary. Codes are IATA: airports 3 letters, carriers 2 characters."""

    origin: str
    destination: str
    operating_carrier: str
    marketing_carrier: str
    flight_number: str
    booking_class: str
    cabin: Cabin
    date: dt.date


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str
    """ISO 4217 code, e.g. EUR or USD."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """The ticket an itinerary flies on, for revenue-based miles.

    ``issuer`` is the issuing airline's designator (``LH``) or the ticket stock, the first three digits
    of the ticket number (``220``). ``fare`` and ``carrier_surcharges`` exclude taxes and fees.
    """

    issuer: str
    fare: Money
    carrier_surcharges: Money | None = None
    tour_operator: bool = False
    """Tour-operator tickets earn by distance and booking class even when a Lufthansa Group airline issued them."""


@dataclass(frozen=True, slots=True)
class SegmentEarning:
    """What one segment earns, with the distance, the regions and every rule applied."""

    segment: FlightSegment
    distance_miles: int
    origin_region: Region
    destination_region: Region
    continental: bool
    miles_method: MilesMethod
    award_miles: int
    points: int
    qualifying_points: int
    hon_circle_points: int
    rules: tuple[AppliedRule, ...]


@dataclass(frozen=True, slots=True)
class Earning:
    """What an itinerary earns: per segment and in total, under one chart version."""

    chart_version: str
    tier: Tier
    segments: tuple[SegmentEarning, ...]
    eligible_amount_eur: Decimal | None
    """Fare plus carrier surcharges in EUR when the miles were revenue-based, else None."""

    @property
    def award_miles(self) -> int:
        return sum(segment.award_miles for segment in self.segments)

    @property
    def points(self) -> int:
        return sum(segment.points for segment in self.segments)

    @property
    def qualifying_points(self) -> int:
        return sum(segment.qualifying_points for segment in self.segments)

    @property
    def hon_circle_points(self) -> int:
        return sum(segment.hon_circle_points for segment in self.segments)

    @property
    def distance_miles(self) -> int:
        return sum(segment.distance_miles for segment in self.segments)


@dataclass(frozen=True, slots=True)
class UpgradeQuote:
    """Award miles (and, where offered, eVouchers) for one cabin change on one flight segment."""

    chart_version: str
    origin: str
    destination: str
    operating_carrier: str
    flight_number: str
    distance_miles: int
    from_cabin: Cabin
    to_cabin: Cabin
    origin_region: Region
    destination_region: Region
    miles: int
    evouchers: int | None
    rule: AppliedRule
