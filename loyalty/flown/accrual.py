"""What a flown flight credits, once: for automatic accrual from flown data and for retro credit alike.

A flight is credited under one idempotency key made of ticket, carrier, flight number and date
(:func:`flight_credit_key`), whoever asks first: the partner's ``flight.flown`` for a member it names,
or the member's retro-credit request. The second finds the posting there and credits nothing.
The amounts come from :func:`loyalty.earning.calculator.compute_earning`, the one earning path.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.awards.booking import is_award_ticket
from loyalty.crediting import post
from loyalty.earning.calculator import compute_earning
from loyalty.earning.chart import EarningChart
from loyalty.earning.model import Cabin, Earning, FlightSegment, Money, Ticket
from loyalty.flown.models import FlownSegment
from loyalty.flown.service import normalise_flight_number
from loyalty.ledger.models import CounterAccount, Currency, PostingSource
from loyalty.ledger.service import PostingResult
from loyalty.members.models import Member, Tier
from loyalty.rules import ProgrammeRules
from loyalty.status.engine import tier_on

log = logging.getLogger(__name__)


def flight_credit_key(*, ticket_number: str, carrier: str, flight_number: str, flight_date: dt.date) -> str:
    """The one idempotency key of a flown coupon's credit (automatic accrual and retro credit share it)."""
    number = normalise_flight_number(flight_number.strip().upper())
    return f"flight:{ticket_number}:{carrier.strip().upper()}{number}:{flight_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class FlownFlight:
    """The facts of one flown segment the earning rules need."""

    ticket_number: str
    carrier: str
    flight_number: str
    flight_date: dt.date
    origin: str
    destination: str
    cabin: Cabin
    booking_class: str
    fare: Money | None = None

    @property
    def credit_key(self) -> str:
        return flight_credit_key(
            ticket_number=self.ticket_number,
            carrier=self.carrier,
            flight_number=self.flight_number,
            flight_date=self.flight_date,
        )

    @property
    def reference(self) -> str:
        return f"{self.carrier}{self.flight_number}:{self.flight_date.isoformat()}:{self.ticket_number}"


def fare_of(details: dict[str, Any]) -> Money | None:
    """The fare a partner sent with the flown coupon (``details.fare``), if any and readable."""
    fare = details.get("fare")
    if not isinstance(fare, dict):
        return None
    try:
        return Money(amount=Decimal(str(fare["amount"])), currency=str(fare["currency"]))
    except (KeyError, InvalidOperation):
        return None


def flight_from_flown(
    segment: FlownSegment, *, cabin: Cabin | None = None, booking_class: str | None = None
) -> FlownFlight | None:
    """The partner's facts, with the member's cabin and booking class where the partner left them out;
    None when neither side gives them (nothing can be computed)."""
    flown_cabin = Cabin[segment.cabin.name] if segment.cabin is not None else cabin
    flown_class = segment.booking_class or booking_class
    if flown_cabin is None or not flown_class:
        return None
    return FlownFlight(
        ticket_number=segment.ticket_number,
        carrier=segment.carrier,
        flight_number=segment.flight_number,
        flight_date=segment.flight_date,
        origin=segment.origin,
        destination=segment.destination,
        cabin=flown_cabin,
        booking_class=flown_class,
        fare=fare_of(segment.details),
    )


def flight_earning(flight: FlownFlight, *, tier: Tier, chart: EarningChart) -> Earning:
    """What the flight earns: revenue-based when the partner sent the fare of a group-issued ticket
    (the ticket stock is the first three digits of the ticket number), else by distance and class."""
    segment = FlightSegment(
        origin=flight.origin,
        destination=flight.destination,
        operating_carrier=flight.carrier,
        marketing_carrier=flight.carrier,
        flight_number=flight.flight_number,
        booking_class=flight.booking_class,
        cabin=flight.cabin,
        date=flight.flight_date,
    )
    ticket = None if flight.fare is None else Ticket(issuer=flight.ticket_number[:3], fare=flight.fare)
    return compute_earning(itinerary=[segment], tier=tier, chart=chart, ticket=ticket)


def credited_amounts(earning: Earning) -> dict[Currency, int]:
    """The non-zero amounts a posting of this earning moves."""
    amounts = {
        Currency.AWARD_MILES: earning.award_miles,
        Currency.POINTS: earning.points,
        Currency.QUALIFYING_POINTS: earning.qualifying_points,
        Currency.HON_CIRCLE_POINTS: earning.hon_circle_points,
    }
    return {currency: amount for currency, amount in amounts.items() if amount > 0}


def rule_version(programme_version: str, chart: EarningChart) -> str:
    return f"{programme_version}+earning {chart.earning_version}"[:40]


async def credit_flight(
    *,
    account_id: int,
    flight: FlownFlight,
    earning: Earning,
    source: PostingSource,
    rules: ProgrammeRules,
    chart: EarningChart,
    description: str,
) -> PostingResult:
    """Post the earning under the flight's one key (call inside the caller's transaction)."""
    return await post(
        account_id=account_id,
        amounts=credited_amounts(earning),
        source=source,
        idempotency_key=flight.credit_key,
        activity_date=flight.flight_date,
        rule_version=rule_version(rules.version, chart),
        rules=rules,
        partner_reference=flight.reference,
        description=description,
        counter_account=CounterAccount.PARTNER_LIABILITY,
    )


async def accrue_flown(
    segment: FlownSegment, *, chart: EarningChart, rules: ProgrammeRules
) -> PostingResult | None:
    """Credit a flown coupon to the member the partner named, once; None when there is nothing to credit
    (no member, an erased one, no cabin or booking class to compute with, an award ticket - which earns
    0 Points and 0 miles, DOMAIN.md 3.2 - or an earning of zero)."""
    if segment.account_id is None:
        return None
    if await is_award_ticket(segment.ticket_number):
        log.info("flown coupon of an award ticket: earns nothing", extra={"flown": segment.id})
        return None
    member = await Member.get_or_none(id=segment.account_id).only("id", "tier", "erased_at")
    if member is None or member.erased_at is not None:
        return None
    flight = flight_from_flown(segment)
    if flight is None:
        log.info("flown coupon without cabin or booking class: not credited", extra={"flown": segment.id})
        return None
    tier = await tier_on(account_id=member.id, day=flight.flight_date, current=member.tier)
    earning = flight_earning(flight, tier=tier, chart=chart)
    if not credited_amounts(earning):
        return None
    return await credit_flight(
        account_id=member.id,
        flight=flight,
        earning=earning,
        source=PostingSource.FLIGHT_ACCRUAL,
        rules=rules,
        chart=chart,
        description=f"Flight {flight.carrier}{flight.flight_number} {flight.origin}-{flight.destination}",
    )
