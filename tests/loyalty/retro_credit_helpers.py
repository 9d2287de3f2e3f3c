"""Shared test data for retro credit: claims, flown coupons and boarding passes."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from loyalty.bcbp.encoder import encode_boarding_pass
from loyalty.bcbp.model import BoardingPass, BoardingPassLeg
from loyalty.earning.model import Cabin
from loyalty.flown.models import Cabin as FlownCabin
from loyalty.flown.models import FlownSegment
from loyalty.flown.service import FlownCoupon, record_flown
from loyalty.retro_credit.checks import FlightClaim

TICKET = "2201234567890"
NOW = dt.datetime(2025, 9, 15, 10, 0, tzinfo=dt.UTC)
FLIGHT_DAY = dt.date(2025, 9, 1)


def claim(**changes: Any) -> FlightClaim:
    """LH400 FRA-JFK in Business (J), two weeks before NOW."""
    base = FlightClaim(
        ticket_number=TICKET,
        carrier="LH",
        flight_number="400",
        flight_date=FLIGHT_DAY,
        origin="FRA",
        destination="JFK",
        cabin=Cabin.BUSINESS,
        booking_class="J",
    )
    return replace(base, **changes)


async def flown(partner_id: int, account_id: int | None = None, **changes: Any) -> FlownSegment:
    """The partner's flown coupon matching :func:`claim`, passenger Grace Hopper (the factories' member)."""
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "account_id": account_id,
        "ticket_number": TICKET,
        "carrier": "LH",
        "flight_number": "0400",
        "flight_date": FLIGHT_DAY,
        "origin": "FRA",
        "destination": "JFK",
        "cabin": FlownCabin.BUSINESS,
        "booking_class": "J",
        "passenger_surname": "HOPPER",
        "passenger_given_name": "GRACE MRS",
    }
    values.update(changes)
    segment, _ = await record_flown(FlownCoupon(**values))
    return segment


def boarding_pass(
    *,
    name: str = "HOPPER/GRACE MRS",
    carrier: str = "LH",
    flight_number: str = "0400",
    day: dt.date = FLIGHT_DAY,
    compartment: str = "J",
    route: tuple[str, str] = ("FRA", "JFK"),
    ticket: str | None = TICKET,
) -> str:
    """A one-leg format-M pass; with a ticket number, its conditional part carries it."""
    leg = BoardingPassLeg(
        pnr="XYZ789",
        origin=route[0],
        destination=route[1],
        operating_carrier=carrier,
        flight_number=flight_number,
        julian_date=day.timetuple().tm_yday,
        compartment=compartment,
        seat="004A",
        check_in_sequence="0007",
        passenger_status="1",
        airline_numeric_code=None if ticket is None else ticket[:3],
        document_serial_number=None if ticket is None else ticket[3:],
    )
    return encode_boarding_pass(
        BoardingPass(
            passenger_name=name,
            electronic_ticket_indicator="E",
            legs=(leg,),
            version=None if ticket is None else "6",
        )
    )
