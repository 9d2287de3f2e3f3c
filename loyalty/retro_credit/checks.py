"""The pure rules of a retro-credit request (DOMAIN.md 6): what a complete claim is, and when it may be made.

- A claim names date, carrier and flight number, route, cabin and booking class, and the 13-digit ticket
  number; an incomplete or malformed claim is not registered (a typed error naming the field as the
  request names it: ``flightNumber``, ``carrier``, ``origin``, ...; a blank one is ``<FIELD>_REQUIRED``).
- The flight lies at most ``window_months`` back (OUT_OF_WINDOW), judged on the day of the request;
  flights before the member joined count like any other.
- A partner airline outside the Lufthansa Group credits automatically within ``partner_wait_days``:
  a request before that day is rejected (TOO_EARLY_WAIT_7D). Group airlines have no waiting period.
- Some partners want the boarding pass with a request (DOC_REQUIRED without it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from loyalty.earning.model import Cabin
from loyalty.earning.validation import BOOKING_CLASS, flight_codes
from loyalty.errors import DomainError, ValidationFailed
from loyalty.ledger.quarters import add_months
from loyalty.retro_credit.models import RetroCreditReason
from loyalty.rules import RetroCreditRules

TICKET_NUMBER = re.compile(r"^[0-9]{13}$")

REQUIRED_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("ticket_number", "ticketNumber", "TICKET_NUMBER_REQUIRED"),
    ("carrier", "carrier", "CARRIER_REQUIRED"),
    ("flight_number", "flightNumber", "FLIGHT_NUMBER_REQUIRED"),
    ("origin", "origin", "ORIGIN_REQUIRED"),
    ("destination", "destination", "DESTINATION_REQUIRED"),
    ("booking_class", "bookingClass", "BOOKING_CLASS_REQUIRED"),
)
"""A claim's text fields: attribute, the request's field name, and the code when it is left blank."""

_CALCULATOR_FIELDS = {
    "operatingCarrier": "carrier",
    "marketingCarrier": "carrier",
    "flightNumber": "flightNumber",
    "origin": "origin",
    "destination": "destination",
    "bookingClass": "bookingClass",
    "date": "flightDate",
}
"""The calculator's names for a segment's fields (``itinerary.segments[0].origin``) -> the claim's."""


def claim_field(field: str | None) -> str | None:
    """The request's own name for a field the earning calculator named in its own terms."""
    if field is None:
        return None
    return _CALCULATOR_FIELDS.get(field.rsplit(".", 1)[-1], field)


def in_claim_terms(error: DomainError) -> DomainError:
    """The same error, naming the field as the retro-credit request does (the calculator's own
    names, ``flight.flightNumber`` or ``itinerary.segments[0].origin``, mean nothing to the member)."""
    error.field = claim_field(error.field)
    return error


@dataclass(frozen=True, slots=True)
class FlightClaim:
    """One flight a member asks to have credited, as typed or read from a boarding pass."""

    ticket_number: str
    carrier: str
    flight_number: str
    flight_date: dt.date
    origin: str
    destination: str
    cabin: Cabin
    booking_class: str
    passenger_surname: str = ""
    passenger_given_name: str = ""
    """The name on the boarding pass; empty for a request by form (the partner's flown data names it)."""
    boarding_pass: str | None = None


def validate_claim(claim: FlightClaim, *, today: dt.date) -> FlightClaim:
    """The claim with its codes normalised, or ValidationFailed naming the field (in the request's terms)."""
    for attribute, field, code in REQUIRED_FIELDS:
        if not str(getattr(claim, attribute)).strip():
            raise ValidationFailed(
                f"{field} is needed: an incomplete request is not registered.", field=field, code=code
            )
    ticket = claim.ticket_number.replace(" ", "").replace("-", "")
    if not TICKET_NUMBER.match(ticket):
        raise ValidationFailed(
            "The ticket number has 13 digits (airline code + serial number).",
            field="ticketNumber",
            code="TICKET_NUMBER_INVALID",
        )
    try:
        codes = flight_codes(
            origin=claim.origin,
            destination=claim.destination,
            operating_carrier=claim.carrier,
            marketing_carrier=claim.carrier,
            flight_number=claim.flight_number,
            field="flight",
        )
    except DomainError as refused:
        raise in_claim_terms(refused) from None
    if not codes.flight_number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").strip("0"):
        raise ValidationFailed(
            f"{claim.flight_number!r} is not a flight number.",
            field="flightNumber",
            code="FLIGHT_NUMBER_INVALID",
        )
    booking_class = claim.booking_class.strip().upper()
    if not BOOKING_CLASS.match(booking_class):
        raise ValidationFailed(
            f"{claim.booking_class!r} is not a booking class (one letter).",
            field="bookingClass",
            code="BOOKING_CLASS_INVALID",
        )
    if claim.flight_date > today:
        raise ValidationFailed(
            "Only flights already flown can be credited.", field="flightDate", code="FLIGHT_IN_FUTURE"
        )
    return replace(
        claim,
        ticket_number=ticket,
        carrier=codes.operating_carrier,
        flight_number=codes.flight_number,
        origin=codes.origin,
        destination=codes.destination,
        booking_class=booking_class,
    )


def window_reason(
    *, flight_date: dt.date, carrier: str, requested_on: dt.date, rules: RetroCreditRules
) -> RetroCreditReason | None:
    """Why a request made on ``requested_on`` comes too late or too early; None when it is in time."""
    if flight_date < add_months(requested_on, -rules.window_months):
        return RetroCreditReason.OUT_OF_WINDOW
    if not rules.is_group_carrier(carrier) and requested_on < flight_date + dt.timedelta(
        days=rules.partner_wait_days
    ):
        return RetroCreditReason.TOO_EARLY_WAIT_7D
    return None


def needs_boarding_pass(carrier: str, rules: RetroCreditRules) -> bool:
    return carrier.upper() in rules.boarding_pass_required_carriers


def cabin_for_compartment(compartment: str, rules: RetroCreditRules) -> Cabin:
    """The cabin a boarding pass's compartment code stands for (ECONOMY when the table lists it nowhere)."""
    name = rules.compartment_cabins.get(compartment.strip().upper())
    return Cabin[name] if name is not None else Cabin.ECONOMY


def reason_text(reason: RetroCreditReason, rules: RetroCreditRules) -> str:
    """The sentence the member reads with a rejection."""
    texts = {
        RetroCreditReason.OUT_OF_WINDOW: f"The flight is more than {rules.window_months} months ago.",
        RetroCreditReason.TOO_EARLY_WAIT_7D: (
            f"Partner airlines credit flights themselves within {rules.partner_wait_days} days: "
            "ask again after that if the miles are still missing."
        ),
        RetroCreditReason.NAME_MISMATCH: "The ticket is not in your name.",
        RetroCreditReason.TICKET_NOT_FOUND: "The airline has no record of this ticket on this flight.",
        RetroCreditReason.ALREADY_CREDITED: "This flight has been credited already.",
        RetroCreditReason.NON_ELIGIBLE_FARE: "This ticket or fare earns no miles or points.",
        RetroCreditReason.DOC_REQUIRED: "This airline needs the boarding pass with the request.",
    }
    return texts[reason]
