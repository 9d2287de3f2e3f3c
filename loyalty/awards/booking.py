"""Searching, booking and cancelling award flights (DOMAIN.md 7).

- A search prices the flight the member names: Lufthansa Group carriers from each cash fare and fare
  family given (one offer per fare), other partners by the zone chart (one offer).
- Booking is a redemption: the quote is computed again, and the miles (all, or with Cash & Miles part of
  them) are debited through the posting path (``loyalty.crediting.post``, source REDEMPTION) in the
  transaction that writes the booking, with the balance rows locked, so concurrent bookings never
  overdraw. The client's request id is the idempotency key: a retry returns the first booking.
- Cancelling (before the departure day) reverses the debit: the miles go back to the lots they came
  from, with their original expiry.
- Both search and booking run the identity check (``loyalty.awards.identity``) first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.awards.config import AwardRules
from loyalty.awards.identity import IdentityConfirmation, confirm_identity, spend_check
from loyalty.awards.models import AwardBooking, AwardBookingState, IdentityPurpose
from loyalty.awards.pricing import (
    AwardFlight,
    AwardQuote,
    Payment,
    check_flight,
    is_dynamic,
    quote_award,
    split_payment,
)
from loyalty.crediting import post
from loyalty.earning.airports import airport_directory
from loyalty.earning.chart import RateTable
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.events.models import EventType
from loyalty.events.service import record
from loyalty.ledger.models import CounterAccount, Currency, PostingSource
from loyalty.ledger.reversal import reverse_posting
from loyalty.ledger.service import InsufficientBalance, balances_of
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.rewards.service import InsufficientMiles
from loyalty.rules import ProgrammeRules

MAX_REQUEST_ID_LENGTH = 100
AWARD_REWARD_CODE = "AWARD_FLIGHT"


class InsufficientMilesForAward(InsufficientMiles):
    """The award-miles balance does not cover the miles part of the booking."""

    def __init__(self, *, required: int, balance: int) -> None:
        super().__init__(required=required, balance=balance)
        self.message = f"This award costs {required} miles; {self.missing} more are needed."
        self.field = "milesToPay"


@dataclass(frozen=True, slots=True)
class AwardSearch:
    """One flight and the fares to price it with (Lufthansa Group: one per fare family the member sees)."""

    flight: AwardFlight
    fares: tuple[AwardFlight, ...] = ()


def quote(flight: AwardFlight, *, awards: AwardRules, rates: RateTable, today: dt.date) -> AwardQuote:
    """The checked flight's price (no identity check: the callers below run it)."""
    checked = check_flight(flight, today=today)
    airports = airport_directory()
    return quote_award(
        checked,
        origin=airports.get(checked.origin, field="origin"),
        destination=airports.get(checked.destination, field="destination"),
        rules=awards,
        rates=rates,
    )


async def search_awards(
    *,
    account_id: int,
    search: AwardSearch,
    confirmation: IdentityConfirmation | None,
    awards: AwardRules,
    rates: RateTable,
    now: dt.datetime,
) -> list[AwardQuote]:
    """The offers for the flight: one per fare given (Lufthansa Group), else the zone chart's one.

    The flight is checked before the identity check, so a malformed search sends no code."""
    flights = search.fares if search.fares and is_dynamic(search.flight.carrier, awards) else (search.flight,)
    quotes = [quote(flight, awards=awards, rates=rates, today=now.date()) for flight in flights]
    check = await confirm_identity(
        account_id=account_id,
        purpose=IdentityPurpose.AWARD_SEARCH,
        confirmation=confirmation,
        rules=awards.identity_check,
        now=now,
    )
    if check is not None:
        await spend_check(check, now=now)
    return quotes


def _idempotency_key(account_id: int, request_id: str) -> str:
    if not request_id.strip() or len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise ValidationFailed(
            f"The request id is 1 to {MAX_REQUEST_ID_LENGTH} characters.",
            field="requestId",
            code="REQUEST_ID_INVALID",
        )
    return f"award:{account_id}:{request_id}"


def ticket_number(posting_id: int, awards: AwardRules) -> str:
    """The award ticket's 13-digit number: the award ticket stock and a serial from its debit's posting id
    (unique, and known before the booking row is written)."""
    return f"{awards.tickets.stock}{awards.tickets.serial_start + posting_id:010d}"


async def _booked(key: str, account_id: int) -> AwardBooking | None:
    return await AwardBooking.filter(account_id=account_id, posting__idempotency_key=key).first()


def _same_flight(booking: AwardBooking, flight: AwardFlight) -> bool:
    booked = (booking.carrier, booking.flight_number, booking.origin, booking.destination)
    return (*booked, booking.departure_date, booking.cabin) == (
        flight.carrier,
        flight.flight_number,
        flight.origin,
        flight.destination,
        flight.departure_date,
        flight.cabin,
    )


async def book_award(
    *,
    account_id: int,
    flight: AwardFlight,
    request_id: str,
    miles_to_pay: int | None,
    confirmation: IdentityConfirmation | None,
    awards: AwardRules,
    rates: RateTable,
    rules: ProgrammeRules,
    now: dt.datetime,
) -> AwardBooking:
    """Book the award once per request id (a retry returns the first booking, whatever its state now;
    the same id for another flight is REQUEST_ID_REUSED). Not enough miles: INSUFFICIENT_MILES."""
    key = _idempotency_key(account_id, request_id)
    checked = check_flight(flight, today=now.date())
    existing = await _booked(key, account_id)
    if existing is not None:
        if not _same_flight(existing, checked):
            raise Conflict(
                "This request id was used for another award.", field="requestId", code="REQUEST_ID_REUSED"
            )
        return existing
    priced = quote(checked, awards=awards, rates=rates, today=now.date())
    payment = split_payment(priced.miles, miles_to_pay, awards.cash_and_miles)
    check = await confirm_identity(
        account_id=account_id,
        purpose=IdentityPurpose.AWARD_BOOKING,
        confirmation=confirmation,
        rules=awards.identity_check,
        now=now,
    )
    try:
        async with in_transaction():
            booking, created = await _debit_and_book(account_id, key, priced, payment, awards, rules, now)
            if check is not None and created:
                await spend_check(check, now=now)
    except InsufficientBalance:
        balance = (await balances_of(account_id=account_id))[Currency.AWARD_MILES]
        raise InsufficientMilesForAward(required=payment.miles, balance=balance) from None
    if not _same_flight(booking, checked):
        raise Conflict(
            "This request id was used for another award.", field="requestId", code="REQUEST_ID_REUSED"
        )
    return booking


async def _debit_and_book(
    account_id: int,
    key: str,
    priced: AwardQuote,
    payment: Payment,
    awards: AwardRules,
    rules: ProgrammeRules,
    now: dt.datetime,
) -> tuple[AwardBooking, bool]:
    """The debit and the booking row (False: the request id's booking existed, nothing was written)."""
    flight = priced.flight
    result = await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: -payment.miles},
        source=PostingSource.REDEMPTION,
        idempotency_key=key,
        activity_date=now.date(),
        rule_version=priced.rule_version[:40],
        rules=rules,
        description=f"Award flight {flight.carrier}{flight.flight_number} {flight.origin}-{flight.destination}"[
            :200
        ],
        counter_account=CounterAccount.REDEMPTION,
    )
    booking = await AwardBooking.get_or_none(posting_id=result.posting_id)
    if booking is not None:
        return booking, False
    booking = await AwardBooking.create(
        account_id=account_id,
        posting_id=result.posting_id,
        ticket_number=ticket_number(result.posting_id, awards),
        carrier=flight.carrier,
        flight_number=flight.flight_number,
        origin=flight.origin,
        destination=flight.destination,
        departure_date=flight.departure_date,
        cabin=flight.cabin,
        fare_family=None if flight.fare_family is None else flight.fare_family.value,
        pricing=priced.pricing.value,
        price_miles=priced.miles,
        miles=payment.miles,
        cash_eur=payment.cash_eur,
        rule_version=priced.rule_version[:40],
        created_at=now,
    )
    await _announce(booking, EventType.REDEMPTION_CREATED)
    return booking, True


async def _announce(booking: AwardBooking, type: EventType) -> None:
    """The booking's domain event (``redemption.created`` / ``.cancelled`` for partners), in its transaction."""
    await record(
        account_id=booking.account_id,
        type=type,
        posting_id=booking.posting_id,
        payload={
            "redemptionId": f"award:{booking.id}",
            "rewardCode": AWARD_REWARD_CODE,
            "miles": booking.miles,
            "state": "REDEEMED" if booking.state is AwardBookingState.BOOKED else "CANCELLED",
            "ticketNumber": booking.ticket_number,
            "cashEur": f"{booking.cash_eur:.2f}",
        },
    )


async def cancel_award(
    *, account_id: int, booking_id: int, rules: ProgrammeRules, now: dt.datetime
) -> AwardBooking:
    """Give the miles back (to their lots, with their expiry) and mark the booking CANCELLED, once; only
    before the departure day."""
    async with in_transaction():
        booking = await AwardBooking.filter(id=booking_id, account_id=account_id).select_for_update().first()
        if booking is None:
            raise NotFound("No such award booking.", field="bookingId", code="NOT_FOUND")
        if booking.state is AwardBookingState.CANCELLED:
            raise Conflict(
                "This award booking was cancelled already.", field="bookingId", code="ALREADY_CANCELLED"
            )
        if booking.departure_date <= now.date():
            raise ValidationFailed(
                "An award is cancelled before its departure day.", field="bookingId", code="ALREADY_DEPARTED"
            )
        await reverse_posting(
            posting_id=booking.posting_id,
            activity_date=now.date(),
            rule_version=booking.rule_version,
            rules=rules,
            description=f"Cancelled award {booking.ticket_number}",
        )
        booking.state = AwardBookingState.CANCELLED
        booking.cancelled_at = now
        await booking.save(update_fields=["state", "cancelled_at"])
        await _announce(booking, EventType.REDEMPTION_CANCELLED)
    return booking


async def is_award_ticket(ticket_number: str) -> bool:
    """Whether the ticket is an award ticket we issued (its flown coupons earn nothing, DOMAIN.md 3.2)."""
    return await AwardBooking.filter(ticket_number=ticket_number.strip()).exists()


async def bookings_page(*, account_id: int, request: PageRequest) -> Page[AwardBooking]:
    """The member's bookings, newest first (by id: the order they were booked), one keyset page."""
    return await newest_first(AwardBooking.filter(account_id=account_id), request)
