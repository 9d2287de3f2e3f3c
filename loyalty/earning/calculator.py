"""The one earning function: what an itinerary earns in award miles, Points, QP and HCP (DOMAIN.md 3).

:func:`compute_earning` is the single code path for the miles calculator, automatic flight accrual
and retroactive credit. It is pure: the chart, the airports and the tier are arguments.

Rules, in the order they are applied to each segment:

1. The operating carrier must be a partner airline of the chart, else the segment earns nothing.
2. Award miles are **revenue-based** when a ticket is given, was issued by a Lufthansa Group airline
   (ticket stock or designator) and is not a tour-operator ticket: fare plus carrier surcharges,
   converted to EUR, are shared among the segments in proportion to their great-circle distance, and
   each share is multiplied by the factor for the member's tier and the segment's operating carrier.
   Otherwise they are **distance-based**: the great-circle distance times the percentage for the
   booking class on the operating carrier's distance chart.
3. Points depend only on the cabin and on whether both airports lie in one region (continental).
4. Qualifying Points equal the Points on qualifying carriers; HON Circle Points equal them in the
   HON Circle cabins (Business, First) of those carriers.

Whole miles and points are rounded half up, per segment; totals are sums of the segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from loyalty.earning import validation
from loyalty.earning.airports import AirportDirectory, airport_directory, great_circle_miles
from loyalty.earning.chart import Airline, EarningChart
from loyalty.earning.errors import InvalidItinerary
from loyalty.earning.model import (
    AppliedRule,
    Earning,
    FlightSegment,
    MilesMethod,
    Region,
    RuleCode,
    SegmentEarning,
    Ticket,
)
from loyalty.members.models import Tier

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class _Leg:
    """A checked segment with its distance and regions."""

    segment: FlightSegment
    distance_miles: int
    origin_region: Region
    destination_region: Region

    @property
    def continental(self) -> bool:
        return self.origin_region is self.destination_region


@dataclass(frozen=True, slots=True)
class _Revenue:
    """The ticket's amount in EUR and how it was obtained (for the rule text)."""

    amount_eur: Decimal
    described: str


def whole(value: Decimal) -> int:
    """Round half up to a whole number of miles or points."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def compute_earning(
    *,
    itinerary: Sequence[FlightSegment],
    tier: Tier,
    chart: EarningChart,
    ticket: Ticket | None = None,
    airports: AirportDirectory | None = None,
) -> Earning:
    """What ``itinerary`` earns for a member of ``tier`` under ``chart``, per segment and in total.

    Raises :class:`~loyalty.earning.errors.UnknownAirport`, :class:`~loyalty.earning.errors.UnknownCurrency`
    or :class:`~loyalty.earning.errors.InvalidItinerary`, each naming the input field concerned.
    """
    directory = airports or airport_directory()
    legs = [
        _leg(segment, index, chart, directory)
        for index, segment in enumerate(validation.itinerary(itinerary))
    ]
    checked_ticket = None if ticket is None else validation.ticket(ticket)
    revenue = _revenue(checked_ticket, chart)
    total_distance = sum(leg.distance_miles for leg in legs)
    segments = tuple(_segment_earning(leg, tier, chart, revenue, total_distance) for leg in legs)
    return Earning(
        chart_version=chart.version,
        tier=tier,
        segments=segments,
        eligible_amount_eur=None
        if revenue is None
        else revenue.amount_eur.quantize(CENT, rounding=ROUND_HALF_UP),
    )


def _leg(segment: FlightSegment, index: int, chart: EarningChart, airports: AirportDirectory) -> _Leg:
    field = f"itinerary.segments[{index}]"
    if segment.date < chart.effective_from:
        raise InvalidItinerary(
            f"The earning chart applies to flights from {chart.effective_from.isoformat()}.",
            field=f"{field}.date",
            code="CHART_NOT_IN_FORCE",
        )
    origin = airports.get(segment.origin, field=f"{field}.origin")
    destination = airports.get(segment.destination, field=f"{field}.destination")
    return _Leg(
        segment=segment,
        distance_miles=great_circle_miles(origin, destination),
        origin_region=_region(chart, origin.country, f"{field}.origin"),
        destination_region=_region(chart, destination.country, f"{field}.destination"),
    )


def _region(chart: EarningChart, country: str, field: str) -> Region:
    region = chart.regions.region_of(country)
    if region is None:
        raise InvalidItinerary(
            f"The region table does not list country {country}.", field=field, code="REGION_NOT_CONFIGURED"
        )
    return region


def _revenue(ticket: Ticket | None, chart: EarningChart) -> _Revenue | None:
    """The ticket's earning amount in EUR when the miles are revenue-based, else None."""
    if ticket is None or ticket.tour_operator or not chart.revenue.issued_by_group(ticket.issuer):
        return None
    parts = [("ticket.fare", ticket.fare)]
    if ticket.carrier_surcharges is not None:
        parts.append(("ticket.carrierSurcharges", ticket.carrier_surcharges))
    total = Decimal(0)
    described: list[str] = []
    for field, money in parts:
        amount_eur, rate = chart.rates.to_eur(money, field=field)
        total += amount_eur
        conversion = "" if money.currency == "EUR" else f" at {rate} per EUR"
        described.append(f"{money.currency} {money.amount:,.2f}{conversion}")
    return _Revenue(amount_eur=total, described=" + ".join(described))


def _segment_earning(
    leg: _Leg, tier: Tier, chart: EarningChart, revenue: _Revenue | None, total_distance: int
) -> SegmentEarning:
    segment = leg.segment
    airline = chart.airline(segment.operating_carrier)
    if airline is None:
        rule = AppliedRule(
            RuleCode.NON_PARTNER_CARRIER,
            f"{segment.operating_carrier} is not a partner airline: its flights earn neither miles nor points.",
        )
        return _result(leg, MilesMethod.NOT_EARNING, 0, (0, 0, 0), (rule,))
    if revenue is None:
        miles, miles_rule = _distance_miles(leg, airline, chart)
        method = MilesMethod.DISTANCE_BASED
    else:
        miles, miles_rule = _revenue_miles(leg, tier, chart, revenue, total_distance)
        method = MilesMethod.REVENUE_BASED
    points, points_rules = _status_points(leg, chart)
    return _result(leg, method, miles, points, (miles_rule, *points_rules))


def _result(
    leg: _Leg, method: MilesMethod, miles: int, points: tuple[int, int, int], rules: tuple[AppliedRule, ...]
) -> SegmentEarning:
    return SegmentEarning(
        segment=leg.segment,
        distance_miles=leg.distance_miles,
        origin_region=leg.origin_region,
        destination_region=leg.destination_region,
        continental=leg.continental,
        miles_method=method,
        award_miles=miles,
        points=points[0],
        qualifying_points=points[1],
        hon_circle_points=points[2],
        rules=rules,
    )


def _distance_miles(leg: _Leg, airline: Airline, chart: EarningChart) -> tuple[int, AppliedRule]:
    distance_chart = chart.distance_chart_of(airline)
    booking_class = leg.segment.booking_class
    percent = distance_chart.percent_for(booking_class)
    miles = whole(Decimal(leg.distance_miles) * percent / 100)
    listed = "" if booking_class in distance_chart.percent else ", a class the chart does not list"
    text = (
        f"{percent} % of {leg.distance_miles:,} miles for booking class {booking_class}{listed} "
        f"({airline.designator}: {distance_chart.description})."
    )
    return miles, AppliedRule(RuleCode.DISTANCE_BASED, text)


def _revenue_miles(
    leg: _Leg, tier: Tier, chart: EarningChart, revenue: _Revenue, total_distance: int
) -> tuple[int, AppliedRule]:
    carrier = leg.segment.operating_carrier
    factor = chart.revenue.factor(tier, carrier)
    share = revenue.amount_eur * leg.distance_miles / total_distance if total_distance else revenue.amount_eur
    miles = whole(share * factor.miles_per_eur)
    text = (
        f"{factor.miles_per_eur} miles per EUR ({tier.value}, operated by {carrier}) on EUR "
        f"{share.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}, this segment's share by distance of "
        f"{revenue.described} (Lufthansa Group ticket)."
    )
    return miles, AppliedRule(RuleCode.REVENUE_BASED, text)


def _status_points(leg: _Leg, chart: EarningChart) -> tuple[tuple[int, int, int], tuple[AppliedRule, ...]]:
    segment = leg.segment
    points = chart.points_per_segment[segment.cabin].for_segment(continental=leg.continental)
    regions = f"{leg.origin_region.value}-{leg.destination_region.value}"
    kind = RuleCode.CONTINENTAL if leg.continental else RuleCode.INTERCONTINENTAL
    rules = [AppliedRule(kind, f"{segment.cabin.value} {kind.value.lower()} ({regions}): {points} Points.")]
    if not chart.earns_qualifying(
        operating_carrier=segment.operating_carrier, marketing_carrier=segment.marketing_carrier
    ):
        rules.append(
            AppliedRule(
                RuleCode.NON_QUALIFYING_CARRIER,
                f"{segment.marketing_carrier}{segment.flight_number} operated by {segment.operating_carrier}: "
                "no Qualifying or HON Circle Points on this carrier.",
            )
        )
        return (points, 0, 0), tuple(rules)
    rules.append(AppliedRule(RuleCode.QUALIFYING_CARRIER, f"Qualifying Points equal the Points: {points}."))
    if segment.cabin not in chart.hon_circle_cabins:
        rules.append(
            AppliedRule(RuleCode.NO_HON_CIRCLE_CABIN, f"No HON Circle Points in {segment.cabin.value}.")
        )
        return (points, points, 0), tuple(rules)
    rules.append(
        AppliedRule(
            RuleCode.HON_CIRCLE_CABIN,
            f"HON Circle Points equal the Points in {segment.cabin.value}: {points}.",
        )
    )
    return (points, points, points), tuple(rules)
