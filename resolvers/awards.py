"""Award-flight resolvers: search and quote, booking and cancelling, the member's bookings, MilesPay."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.awards import booking, milespay
from loyalty.awards.config import current_awards
from loyalty.awards.identity import IdentityConfirmation
from loyalty.awards.models import AwardBooking, MilesPayOptIn
from loyalty.awards.pricing import AwardFlight, AwardQuote
from loyalty.earning.chart import RateTable
from loyalty.errors import NotFound
from loyalty.ledger.models import Currency
from loyalty.ledger.service import balances_of
from loyalty.paging import Page, PageRequest
from loyalty.rules import ProgrammeRules


@dataclass(frozen=True, slots=True)
class AwardBookingChange:
    """A booking made or cancelled, and the member's award miles afterwards."""

    booking: AwardBooking
    award_miles: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _award_miles(account_id: int) -> int:
    return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]


async def search_awards(
    *,
    account_id: int,
    flight: AwardFlight,
    fares: list[AwardFlight],
    confirmation: IdentityConfirmation | None,
    rates: RateTable,
) -> list[AwardQuote]:
    return await booking.search_awards(
        account_id=account_id,
        search=booking.AwardSearch(flight=flight, fares=tuple(fares)),
        confirmation=confirmation,
        awards=current_awards(),
        rates=rates,
        now=_now(),
    )


async def book_award(
    *,
    account_id: int,
    flight: AwardFlight,
    request_id: str,
    miles_to_pay: int | None,
    confirmation: IdentityConfirmation | None,
    rates: RateTable,
    rules: ProgrammeRules,
) -> AwardBookingChange:
    row = await booking.book_award(
        account_id=account_id,
        flight=flight,
        request_id=request_id,
        miles_to_pay=miles_to_pay,
        confirmation=confirmation,
        awards=current_awards(),
        rates=rates,
        rules=rules,
        now=_now(),
    )
    return AwardBookingChange(booking=row, award_miles=await _award_miles(account_id))


def _booking_id(opaque: str) -> int:
    if not opaque.isdigit() or len(opaque) > 18:
        raise NotFound("No such award booking.", field="bookingId", code="NOT_FOUND")
    return int(opaque)


async def cancel_award(*, account_id: int, booking_id: str, rules: ProgrammeRules) -> AwardBookingChange:
    row = await booking.cancel_award(
        account_id=account_id, booking_id=_booking_id(booking_id), rules=rules, now=_now()
    )
    return AwardBookingChange(booking=row, award_miles=await _award_miles(account_id))


async def member_award_booking_page(*, account_id: int, request: PageRequest) -> Page[AwardBooking]:
    """A keyset page of the member's award bookings, newest first."""
    return await booking.bookings_page(account_id=account_id, request=request)


async def set_milespay(*, account_id: int, enabled: bool, cap_miles: int | None) -> MilesPayOptIn | None:
    return await milespay.set_milespay(
        account_id=account_id,
        enabled=enabled,
        cap_miles=cap_miles,
        rules=current_awards().milespay,
        now=_now(),
    )


async def member_milespay(*, account_id: int) -> MilesPayOptIn | None:
    return await milespay.active_opt_in(account_id=account_id)
