"""Record partners' flown data and find it again (retro-credit verification, automatic flight accrual)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError

from loyalty.flown.models import Cabin, FlownSegment


@dataclass(frozen=True, slots=True)
class FlownCoupon:
    """One flown segment as a partner reports it."""

    partner_id: int
    ticket_number: str
    carrier: str
    flight_number: str
    flight_date: dt.date
    origin: str
    destination: str
    passenger_surname: str
    passenger_given_name: str = ""
    account_id: int | None = None
    coupon_number: int | None = None
    cabin: Cabin | None = None
    booking_class: str | None = None
    member_reference: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def normalise_flight_number(value: str) -> str:
    """``0123`` and ``123`` are the same flight: leading zeros go, a suffix letter stays."""
    digits = value.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return (digits.lstrip("0") or "0") + value[len(digits) :]


async def record_flown(coupon: FlownCoupon) -> tuple[FlownSegment, bool]:
    """Store a flown coupon once per (partner, ticket, carrier, flight, date); returns it and whether it is new."""
    key: dict[str, Any] = {
        "partner_id": coupon.partner_id,
        "ticket_number": coupon.ticket_number,
        "carrier": coupon.carrier.upper(),
        "flight_number": normalise_flight_number(coupon.flight_number.upper()),
        "flight_date": coupon.flight_date,
    }
    existing = await FlownSegment.get_or_none(**key)
    if existing is not None:
        return existing, False
    try:
        row = await FlownSegment.create(
            **key,
            account_id=coupon.account_id,
            coupon_number=coupon.coupon_number,
            origin=coupon.origin.upper(),
            destination=coupon.destination.upper(),
            cabin=coupon.cabin,
            booking_class=coupon.booking_class,
            passenger_surname=coupon.passenger_surname,
            passenger_given_name=coupon.passenger_given_name,
            member_reference=coupon.member_reference,
            details=coupon.details,
        )
    except IntegrityError:
        return await FlownSegment.get(**key), False
    return row, True


async def find_flown(
    *,
    flight_date: dt.date,
    carrier: str,
    flight_number: str,
    ticket_number: str | None = None,
    account_id: int | None = None,
) -> list[FlownSegment]:
    """Flown segments of one flight on one day, narrowed by ticket number and/or member if given."""
    query = FlownSegment.filter(
        flight_date=flight_date,
        carrier=carrier.upper(),
        flight_number=normalise_flight_number(flight_number.upper()),
    )
    if ticket_number is not None:
        query = query.filter(ticket_number=ticket_number)
    if account_id is not None:
        query = query.filter(account_id=account_id)
    return await query.order_by("id")
