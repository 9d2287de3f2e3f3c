"""The miles calculator and upgrade quotes (DOMAIN.md 3): what a flight earns, what an upgrade costs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from loyalty.earning import model
from loyalty.earning.errors import UnknownAirport as UnknownAirportError
from loyalty.earning.errors import UpgradeNotAvailable as UpgradeNotAvailableError
from schema.earning.enums import Cabin, MilesMethod, Region, RuleCode
from schema.enums import Tier
from schema.errors import InputError


@strawberry.input(description="One flight of the itinerary. Codes are IATA: airports 3 letters, airlines 2.")
class FlightSegmentInput:
    origin: str = strawberry.field(description="Departure airport, e.g. FRA.")
    destination: str = strawberry.field(description="Arrival airport, e.g. JFK.")
    operating_carrier: str = strawberry.field(description="The airline flying the aircraft, e.g. LH.")
    marketing_carrier: str | None = strawberry.field(
        default=None,
        description="The airline whose flight number is on the ticket; the operating one if left out.",
    )
    flight_number: str = strawberry.field(description="1 to 4 digits and an optional letter, e.g. 400.")
    booking_class: str = strawberry.field(description="The one-letter booking class (fare class), e.g. C.")
    cabin: Cabin = strawberry.field(description="The travel class flown.")
    date: dt.date = strawberry.field(description="Departure date (local).")

    def to_domain(self) -> model.FlightSegment:
        return model.FlightSegment(
            origin=self.origin,
            destination=self.destination,
            operating_carrier=self.operating_carrier,
            marketing_carrier=self.marketing_carrier or self.operating_carrier,
            flight_number=self.flight_number,
            booking_class=self.booking_class,
            cabin=self.cabin,
            date=self.date,
        )


@strawberry.input(description="The flights of a journey, in the order flown (1 to 16 segments).")
class ItineraryInput:
    segments: list[FlightSegmentInput] = strawberry.field(
        description="The segments, each counted separately."
    )


@strawberry.input(description="An amount of money.")
class MoneyInput:
    amount: Decimal = strawberry.field(description="The amount, e.g. 499.90 (at most 4 decimals).")
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. EUR or USD.")

    def to_domain(self) -> model.Money:
        return model.Money(amount=self.amount, currency=self.currency)


@strawberry.input(
    description="The ticket, for revenue-based miles: tickets issued by a Lufthansa Group airline earn miles per "
    "EUR of fare plus carrier surcharges (taxes and fees do not count). Other tickets earn by distance."
)
class TicketInput:
    issuer: str = strawberry.field(
        description="The issuing airline (LH) or the ticket stock, the first 3 digits of the ticket number (220)."
    )
    fare: MoneyInput = strawberry.field(description="The fare, without taxes and fees.")
    carrier_surcharges: MoneyInput | None = strawberry.field(
        default=None, description="Carrier-imposed surcharges (the YQ/YR items), if any."
    )
    tour_operator: bool = strawberry.field(
        default=False, description="A tour-operator ticket: earns by distance and booking class."
    )

    def to_domain(self) -> model.Ticket:
        surcharges = self.carrier_surcharges
        return model.Ticket(
            issuer=self.issuer,
            fare=self.fare.to_domain(),
            carrier_surcharges=None if surcharges is None else surcharges.to_domain(),
            tour_operator=self.tour_operator,
        )


@strawberry.type(description="A rule the calculation applied, with the numbers it used.")
class AppliedRule:
    code: RuleCode = strawberry.field(description="Which rule.")
    text: str = strawberry.field(description="The rule with its numbers, in words.")

    @classmethod
    def from_domain(cls, rule: model.AppliedRule) -> AppliedRule:
        return cls(code=rule.code, text=rule.text)


@strawberry.type(description="What one segment earns, with its distance and the rules applied.")
class SegmentEarning:
    origin: str = strawberry.field(description="Departure airport.")
    destination: str = strawberry.field(description="Arrival airport.")
    operating_carrier: str = strawberry.field(description="The airline flying it.")
    marketing_carrier: str = strawberry.field(description="The airline whose flight number it carries.")
    flight_number: str = strawberry.field(description="Flight number without leading zeros.")
    booking_class: str = strawberry.field(description="Booking class.")
    cabin: Cabin = strawberry.field(description="Travel class.")
    date: dt.date = strawberry.field(description="Departure date.")
    distance_miles: int = strawberry.field(description="Great-circle distance in statute miles.")
    origin_region: Region = strawberry.field(description="Region of the departure airport.")
    destination_region: Region = strawberry.field(description="Region of the arrival airport.")
    continental: bool = strawberry.field(description="Both airports in one region.")
    miles_method: MilesMethod = strawberry.field(description="How the award miles were computed.")
    award_miles: int = strawberry.field(description="Award miles (redeemable).")
    points: int = strawberry.field(description="Points (status).")
    qualifying_points: int = strawberry.field(description="Qualifying Points (status and lifetime).")
    hon_circle_points: int = strawberry.field(description="HON Circle Points (Business and First only).")
    rules: list[AppliedRule] = strawberry.field(description="The rules applied, miles first, then points.")

    @classmethod
    def from_domain(cls, earning: model.SegmentEarning) -> SegmentEarning:
        segment = earning.segment
        return cls(
            origin=segment.origin,
            destination=segment.destination,
            operating_carrier=segment.operating_carrier,
            marketing_carrier=segment.marketing_carrier,
            flight_number=segment.flight_number,
            booking_class=segment.booking_class,
            cabin=segment.cabin,
            date=segment.date,
            distance_miles=earning.distance_miles,
            origin_region=earning.origin_region,
            destination_region=earning.destination_region,
            continental=earning.continental,
            miles_method=earning.miles_method,
            award_miles=earning.award_miles,
            points=earning.points,
            qualifying_points=earning.qualifying_points,
            hon_circle_points=earning.hon_circle_points,
            rules=[AppliedRule.from_domain(rule) for rule in earning.rules],
        )


@strawberry.type(description="What an itinerary earns, per segment and in total, under one chart version.")
class MilesCalculation:
    chart_version: str = strawberry.field(
        description="The versions of the earning, region and rates tables used."
    )
    tier: Tier = strawberry.field(description="The status tier the calculation used.")
    segments: list[SegmentEarning] = strawberry.field(description="Each segment, in the order given.")
    award_miles: int = strawberry.field(description="Award miles in total.")
    points: int = strawberry.field(description="Points in total.")
    qualifying_points: int = strawberry.field(description="Qualifying Points in total.")
    hon_circle_points: int = strawberry.field(description="HON Circle Points in total.")
    distance_miles: int = strawberry.field(
        description="Great-circle distance of all segments, in statute miles."
    )
    eligible_amount_eur: Decimal | None = strawberry.field(
        description="Fare plus carrier surcharges in EUR when the miles are revenue-based; none otherwise."
    )

    @classmethod
    def from_domain(cls, earning: model.Earning) -> MilesCalculation:
        return cls(
            chart_version=earning.chart_version,
            tier=earning.tier,
            segments=[SegmentEarning.from_domain(segment) for segment in earning.segments],
            award_miles=earning.award_miles,
            points=earning.points,
            qualifying_points=earning.qualifying_points,
            hon_circle_points=earning.hon_circle_points,
            distance_miles=earning.distance_miles,
            eligible_amount_eur=earning.eligible_amount_eur,
        )


@strawberry.type(description="An airport code that is not in the airport database. Nothing was computed.")
class UnknownAirport:
    code: str = strawberry.field(description="UNKNOWN_AIRPORT.")
    field: str | None = strawberry.field(
        description="The input field, e.g. itinerary.segments[1].destination."
    )
    message: str = strawberry.field(description="A sentence for people.")
    airport_code: str = strawberry.field(description="The code as it was sent.")

    domain_errors = (UnknownAirportError,)

    @classmethod
    def from_domain(cls, error: UnknownAirportError) -> UnknownAirport:
        return cls(code=error.code, field=error.field, message=error.message, airport_code=error.airport_code)


@strawberry.input(
    description="The flight to upgrade: one segment, operated by the airline whose number it has."
)
class UpgradeFlightInput:
    origin: str = strawberry.field(description="Departure airport, e.g. FRA.")
    destination: str = strawberry.field(description="Arrival airport, e.g. LAX.")
    operating_carrier: str = strawberry.field(description="The airline flying it, e.g. LH.")
    marketing_carrier: str | None = strawberry.field(
        default=None, description="The airline whose flight number is booked; the operating one if left out."
    )
    flight_number: str = strawberry.field(description="Flight number, e.g. 456.")


@strawberry.type(
    description="Award miles (or eVouchers, where offered) for one cabin change on one flight, one way."
)
class UpgradeQuote:
    chart_version: str = strawberry.field(description="The versions of the upgrade and region tables used.")
    origin: str = strawberry.field(description="Departure airport.")
    destination: str = strawberry.field(description="Arrival airport.")
    operating_carrier: str = strawberry.field(description="The airline flying it.")
    flight_number: str = strawberry.field(description="Flight number without leading zeros.")
    distance_miles: int = strawberry.field(description="Great-circle distance in statute miles.")
    from_cabin: Cabin = strawberry.field(description="The cabin booked.")
    to_cabin: Cabin = strawberry.field(description="The cabin after the upgrade.")
    origin_region: Region = strawberry.field(description="Region of the departure airport.")
    destination_region: Region = strawberry.field(description="Region of the arrival airport.")
    miles: int = strawberry.field(description="Award miles the upgrade costs.")
    evouchers: int | None = strawberry.field(
        description="eVouchers it costs instead, where the chart offers that."
    )
    rule: AppliedRule = strawberry.field(description="The price rule applied.")

    @classmethod
    def from_domain(cls, quote: model.UpgradeQuote) -> UpgradeQuote:
        return cls(
            chart_version=quote.chart_version,
            origin=quote.origin,
            destination=quote.destination,
            operating_carrier=quote.operating_carrier,
            flight_number=quote.flight_number,
            distance_miles=quote.distance_miles,
            from_cabin=quote.from_cabin,
            to_cabin=quote.to_cabin,
            origin_region=quote.origin_region,
            destination_region=quote.destination_region,
            miles=quote.miles,
            evouchers=quote.evouchers,
            rule=AppliedRule.from_domain(quote.rule),
        )


@strawberry.type(
    description="No upgrade with miles here: UPGRADE_CARRIER_NOT_ELIGIBLE (only flights operated under their own "
    "number by LH, OS, LX, SN, Discover or LOT), UPGRADE_CABIN_ORDER or UPGRADE_NOT_OFFERED."
)
class UpgradeNotAvailable:
    code: str = strawberry.field(description="Why, as a machine-readable code.")
    field: str | None = strawberry.field(description="The input field concerned.")
    message: str = strawberry.field(description="A sentence for people.")

    domain_errors = (UpgradeNotAvailableError,)

    @classmethod
    def from_domain(cls, error: UpgradeNotAvailableError) -> UpgradeNotAvailable:
        return cls(code=error.code, field=error.field, message=error.message)


MilesCalculatorResult = Annotated[
    MilesCalculation | UnknownAirport | InputError, strawberry.union("MilesCalculatorResult")
]
UpgradeQuoteResult = Annotated[
    UpgradeQuote | UpgradeNotAvailable | UnknownAirport | InputError, strawberry.union("UpgradeQuoteResult")
]
