"""Checks and normalises calculator input; every failure names the input field concerned."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from loyalty.earning.errors import InvalidItinerary
from loyalty.earning.model import FlightSegment, Money, Ticket

MAX_SEGMENTS = 16
"""An input-size guard, not a programme rule: no real ticket has more coupons than this."""

CARRIER = re.compile(r"^[A-Z0-9]{2}$")
FLIGHT_NUMBER = re.compile(r"^[0-9]{1,4}[A-Z]?$")
BOOKING_CLASS = re.compile(r"^[A-Z]$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
TICKET_ISSUER = re.compile(r"^([A-Z0-9]{2}|[0-9]{3})$")


def _code(value: str) -> str:
    return value.strip().upper()


def _carrier(value: str, field: str) -> str:
    carrier = _code(value)
    if not CARRIER.match(carrier):
        raise InvalidItinerary(
            f"{value!r} is not an airline designator (2 letters or digits).",
            field=field,
            code="CARRIER_INVALID",
        )
    return carrier


@dataclass(frozen=True, slots=True)
class FlightCodes:
    """A flight's airports, carriers and number, upper-cased; the number without leading zeros."""

    origin: str
    destination: str
    operating_carrier: str
    marketing_carrier: str
    flight_number: str


def flight_codes(
    *,
    origin: str,
    destination: str,
    operating_carrier: str,
    marketing_carrier: str,
    flight_number: str,
    field: str,
) -> FlightCodes:
    """The flight's codes normalised, or InvalidItinerary naming the bad field (airports are looked up later)."""
    number = _code(flight_number).lstrip("0") or "0"
    if not FLIGHT_NUMBER.match(number):
        raise InvalidItinerary(
            f"{flight_number!r} is not a flight number (1 to 4 digits, optional letter).",
            field=f"{field}.flightNumber",
            code="FLIGHT_NUMBER_INVALID",
        )
    codes = FlightCodes(
        origin=_code(origin),
        destination=_code(destination),
        operating_carrier=_carrier(operating_carrier, f"{field}.operatingCarrier"),
        marketing_carrier=_carrier(marketing_carrier, f"{field}.marketingCarrier"),
        flight_number=number,
    )
    if codes.origin == codes.destination:
        raise InvalidItinerary(
            "A flight goes from one airport to another.", field=f"{field}.destination", code="SAME_AIRPORT"
        )
    return codes


def segment(raw: FlightSegment, field: str) -> FlightSegment:
    """The segment with codes upper-cased, or InvalidItinerary naming the bad field."""
    codes = flight_codes(
        origin=raw.origin,
        destination=raw.destination,
        operating_carrier=raw.operating_carrier,
        marketing_carrier=raw.marketing_carrier,
        flight_number=raw.flight_number,
        field=field,
    )
    booking_class = _code(raw.booking_class)
    if not BOOKING_CLASS.match(booking_class):
        raise InvalidItinerary(
            f"{raw.booking_class!r} is not a booking class (one letter).",
            field=f"{field}.bookingClass",
            code="BOOKING_CLASS_INVALID",
        )
    return replace(
        raw,
        origin=codes.origin,
        destination=codes.destination,
        operating_carrier=codes.operating_carrier,
        marketing_carrier=codes.marketing_carrier,
        flight_number=codes.flight_number,
        booking_class=booking_class,
    )


def itinerary(segments: Sequence[FlightSegment]) -> tuple[FlightSegment, ...]:
    if not segments:
        raise InvalidItinerary(
            "An itinerary has at least one segment.", field="itinerary.segments", code="ITINERARY_EMPTY"
        )
    if len(segments) > MAX_SEGMENTS:
        raise InvalidItinerary(
            f"An itinerary has at most {MAX_SEGMENTS} segments.",
            field="itinerary.segments",
            code="ITINERARY_TOO_LONG",
        )
    return tuple(segment(raw, f"itinerary.segments[{index}]") for index, raw in enumerate(segments))


def money(raw: Money, field: str) -> Money:
    currency = _code(raw.currency)
    if not CURRENCY.match(currency):
        raise InvalidItinerary(
            f"{raw.currency!r} is not a currency code (3 letters).",
            field=f"{field}.currency",
            code="CURRENCY_INVALID",
        )
    if not raw.amount.is_finite() or raw.amount < 0 or raw.amount != raw.amount.quantize(Decimal("0.0001")):
        raise InvalidItinerary(
            "An amount is zero or more, with at most 4 decimals.",
            field=f"{field}.amount",
            code="AMOUNT_INVALID",
        )
    return Money(amount=raw.amount, currency=currency)


def ticket(raw: Ticket) -> Ticket:
    issuer = _code(raw.issuer)
    if not TICKET_ISSUER.match(issuer):
        raise InvalidItinerary(
            f"{raw.issuer!r} is neither an airline designator nor a 3-digit ticket stock.",
            field="ticket.issuer",
            code="TICKET_ISSUER_INVALID",
        )
    surcharges = raw.carrier_surcharges
    return replace(
        raw,
        issuer=issuer,
        fare=money(raw.fare, "ticket.fare"),
        carrier_surcharges=None if surcharges is None else money(surcharges, "ticket.carrierSurcharges"),
    )
